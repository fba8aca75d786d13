"""`python -m models extend-vocab`: add the CJK characters of the Chinese train parts to a
sentence-transformers folder's WordPiece vocabulary (new embedding rows; English untouched).

The same step `train-bilingual` runs first; models/bilingual/vocab.py says what is added,
in what order and how the tokenizer normalises (NFKC, then BERT's normaliser).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.errors import SimserveError
from models.bilingual.data import CHINESE_TASKS, training_texts
from models.bilingual.folder import extend_folder
from models.training.config import resolve_source


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--source", default="minilm", help="'minilm' or a sentence-transformers folder"
    )
    parser.add_argument("--data", required=True, help="shared data root (<task>/<split>.tsv)")
    parser.add_argument("--out", required=True, help="the extended folder to write")
    parser.add_argument("--min-count", type=int, default=1, help="occurrences a character needs")
    parser.add_argument("--seed", type=int, default=0, help="seed of the new embedding rows")
    parser.add_argument("--overwrite", action="store_true")


def run(args: argparse.Namespace) -> int:
    try:
        texts = training_texts(Path(args.data), CHINESE_TASKS)
        record = extend_folder(
            resolve_source(args.source),
            Path(args.out),
            texts,
            min_count=args.min_count,
            seed=args.seed,
            overwrite=args.overwrite,
        )
    except (SimserveError, ValueError) as exc:
        print(f"extend-vocab: {getattr(exc, 'message', exc)}", file=sys.stderr)
        return 2
    print(
        f"wrote {args.out}: +{record.added} tokens ({record.old_vocab_size} -> "
        f"{record.new_vocab_size}) from {record.texts} sentences"
    )
    return 0
