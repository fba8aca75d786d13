"""Reading sentence files: plain text (one per line) and pairs TSVs (`sentence1 sentence2 score`)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.errors import InvalidInput

PAIR_COLUMNS = ("sentence1", "sentence2")


@dataclass(frozen=True)
class PairSet:
    """A scored pairs file: left[i], right[i] and score[i] (float64)."""

    left: list[str]
    right: list[str]
    scores: np.ndarray  # (n,) float64


def _rows(path: Path) -> tuple[list[str], list[list[str]]]:
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
            header = next(reader, None)
            rows = [row for row in reader if row]
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc}") from None
    if header is None:
        raise InvalidInput(f"{path} is empty")
    return header, rows


def _column_indices(header: list[str], path: Path, names: tuple[str, ...]) -> list[int]:
    missing = [n for n in names if n not in header]
    if missing:
        raise InvalidInput(f"{path}: header {header} lacks columns {missing}")
    return [header.index(n) for n in names]


def read_pairs(path: str | Path) -> PairSet:
    """A TSV with header `sentence1<TAB>sentence2<TAB>score` (the ../shared/data format)."""
    path = Path(path)
    header, rows = _rows(path)
    a, b, s = _column_indices(header, path, PAIR_COLUMNS + ("score",))
    left, right, scores = [], [], []
    for line, row in enumerate(rows, start=2):
        try:
            left.append(row[a])
            right.append(row[b])
            scores.append(float(row[s]))
        except (IndexError, ValueError):
            raise InvalidInput(f"{path}:{line}: expected sentence1, sentence2, score") from None
    if len(scores) < 2:
        raise InvalidInput(f"{path}: need at least 2 scored pairs, found {len(scores)}")
    return PairSet(left, right, np.asarray(scores, dtype=np.float64))


def read_sentences(path: str | Path) -> list[str]:
    """Sentences to fit on: `.tsv` -> both sentence columns of every row; else one per line.

    Duplicates are kept (BERT-whitening fits on every a- and b-vector). Blank lines are skipped.
    """
    path = Path(path)
    if path.suffix.lower() == ".tsv":
        header, rows = _rows(path)
        indices = _column_indices(header, path, PAIR_COLUMNS)
        sentences = [row[i] for row in rows for i in indices if i < len(row)]
    else:
        try:
            sentences = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise InvalidInput(f"cannot read {path}: {exc}") from None
    sentences = [s for s in sentences if s.strip()]
    if not sentences:
        raise InvalidInput(f"{path} holds no sentences")
    return sentences
