"""`python -m models train-bilingual`: the bilingual (English + Chinese) encoder, end to end.

Stages, each skipped when its output exists, so re-running the same command resumes:
1. extend: `minilm`'s vocabulary + the CJK characters of the Chinese train parts
   (`RUN_DIR/extended`, models/bilingual/vocab.py);
2. train: task-homogeneous pair batches (ATEC, BQ, LCQMC, Chinese STS-B, English STS-B
   train parts; models/bilingual/data.py says how LCQMC/BQ are split) under one objective,
   with the English anchor, checkpoints every N steps in `RUN_DIR/last` (models/bilingual/train.py);
3. export: `MODELS_DIR/NAME` (fp32 ONNX, parity-checked) and, with --int8, `NAME-int8`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.errors import SimserveError
from models.bilingual.data import CHINESE_TASKS, training_texts
from models.bilingual.folder import extend_folder
from models.bilingual.train import DEFAULT_TASKS, BilingualConfig
from models.training.config import resolve_source


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, help="shared data root (<task>/<split>.tsv)")
    parser.add_argument("--out-dir", required=True, help="run directory (re-run to resume)")
    parser.add_argument("--name", help="exported model folder name (omit: train only)")
    parser.add_argument("--models-dir", default="var/models")
    parser.add_argument(
        "--source", default="minilm", help="'minilm' or a sentence-transformers folder"
    )
    parser.add_argument(
        "--objective", default="cosent", choices=["cosent", "softmax", "cosine_mse"]
    )
    parser.add_argument("--tasks", nargs="+", default=list(DEFAULT_TASKS))
    parser.add_argument(
        "--limit",
        nargs="*",
        default=["atec=16000"],
        metavar="TASK=N",
        help="at most N training pairs of a task (seeded subsample); default atec=16000",
    )
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--embedding-lr-scale", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=0.05)
    parser.add_argument("--anchor-weight", type=float, default=10.0)
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--checkpoint-every", type=int, default=50)
    parser.add_argument("--max-steps", type=int, default=None, help="stop after N steps in total")
    parser.add_argument(
        "--threads", type=int, default=None, help="torch intra-op threads (default: torch's)"
    )
    parser.add_argument("--int8", action="store_true", help="also write NAME-int8 (dynamic int8)")
    parser.add_argument("--overwrite", action="store_true")
    parser.add_argument("--no-progress", action="store_true")


def parse_limits(items: list[str]) -> dict[str, int]:
    limits = {}
    for item in items:
        name, _, value = item.partition("=")
        if not value.isdigit() or int(value) < 2:
            raise ValueError(f"--limit expects TASK=N with N >= 2, got {item!r}")
        limits[name] = int(value)
    return limits


def run(args: argparse.Namespace) -> int:
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    try:
        out = Path(args.out_dir)
        extended = out / "extended"
        if not extended.exists():
            out.mkdir(parents=True, exist_ok=True)
            chinese = tuple(t for t in CHINESE_TASKS if t.name in args.tasks)
            texts = training_texts(Path(args.data), chinese)
            record = extend_folder(resolve_source(args.source), extended, texts, seed=args.seed)
            print(f"extended vocabulary: +{record.added} tokens -> {record.new_vocab_size}")
        config = BilingualConfig(
            data=args.data,
            source=str(extended),
            out_dir=str(out / f"train-{args.objective}"),
            objective=args.objective,
            tasks=tuple(args.tasks),
            limits=parse_limits(args.limit),
            epochs=args.epochs,
            batch_size=args.batch_size,
            lr=args.lr,
            embedding_lr_scale=args.embedding_lr_scale,
            warmup=args.warmup,
            seed=args.seed,
            max_length=args.max_length,
            anchor_weight=args.anchor_weight,
            checkpoint_every=args.checkpoint_every,
            max_steps=args.max_steps,
        )
        from models.bilingual.train import run as train_run

        last, progress, total = train_run(config, progress_bar=not args.no_progress)
        print(f"trained {progress.step}/{total} steps in {progress.seconds / 60:.1f} min: {last}")
        if progress.step < total or not args.name:
            return 0
        from models.bilingual.publish import publish

        for folder in publish(
            last, out, Path(args.models_dir), args.name, args.int8, args.overwrite
        ):
            print(f"wrote {folder}")
    except (SimserveError, ValueError) as exc:
        print(f"train-bilingual: {getattr(exc, 'message', exc)}", file=sys.stderr)
        return 2
    return 0
