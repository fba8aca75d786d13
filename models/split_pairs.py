"""`python -m models split-pairs`: write the train and dev parts of every bilingual task as
pairs TSVs (`OUT/<task>-train.tsv`, `OUT/<task>-dev.tsv`), the exact split the bilingual
recipe and benchmarks use (models/bilingual/data.py), for tools that read files."""

from __future__ import annotations

import argparse
from pathlib import Path

from models.bilingual.data import TASKS, Part
from models.training.pairs import HEADER, Pairs


def write_pairs(path: Path, pairs: Pairs) -> None:
    """Plain tab-separated lines, as `read_pairs` reads them (no quoting: fields hold no tab)."""
    lines = ["\t".join(HEADER)]
    lines += [
        f"{a}\t{b}\t{s:g}" for a, b, s in zip(pairs.first, pairs.second, pairs.scores, strict=True)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, help="shared data root (<task>/<split>.tsv)")
    parser.add_argument("--out", required=True, help="folder for <task>-<part>.tsv")


def run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for task in TASKS:
        for part in Part:
            pairs = task.load(Path(args.data), part)
            write_pairs(out / f"{task.name}-{part.value}.tsv", pairs)
            print(f"{task.name}-{part.value}: {len(pairs)} pairs")
    return 0
