"""`python -m models train-cosent`: fine-tune a sentence encoder on scored pairs, keep the
best dev epoch, export it as a served model folder (docs/METHODS.md 2.2, issue 4 item 1).

Recipe (docs/METHODS.md 2.2): each sentence encoded alone (segment 0), the model's own pooling,
batches of 32 interleaved pairs, Adam lr 2e-5 constant (no warmup, no weight decay), dev
Spearman (cosine vs gold) after every epoch, the best epoch kept. Deviations: the source's
pooling is used instead of the reference's forced [CLS]; `--max-length` bounds training and
dev evaluation only, the saved model keeps its source's max_seq_length for serving.
"""

from __future__ import annotations

import argparse
import sys

from app.errors import SimserveError
from models.losses import Objective
from models.training.config import TrainConfig, TrainResult


def train(config: TrainConfig) -> TrainResult:
    """Run (or resume) training in config.out_dir, then export the best epoch."""
    from models.training.loop import run_training

    return run_training(config)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--source", required=True, help="model folder (sentence-transformers or HF) or 'minilm'"
    )
    parser.add_argument(
        "--train", required=True, help="pairs TSV: sentence1<TAB>sentence2<TAB>score"
    )
    parser.add_argument("--dev", required=True, help="pairs TSV used to select the best epoch")
    parser.add_argument("--name", required=True, help="name of the exported model folder")
    parser.add_argument("--out-dir", required=True, help="run directory (re-run to resume)")
    parser.add_argument(
        "--models-dir", default="var/models", help="where the model folder is exported"
    )
    parser.add_argument("--objective", default="cosent", choices=[o.value for o in Objective])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=32, help="pairs per step")
    parser.add_argument("--lr", type=float, default=2e-5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--max-length", type=int, default=64, help="tokens per sentence in training"
    )
    parser.add_argument(
        "--thresholds",
        type=float,
        nargs="+",
        default=None,
        help="softmax objective: class edges on the score (default: midpoint of the train range, "
        "i.e. label > 2.5 on STS-B as in the CoSENT post's Sentence-BERT baseline)",
    )
    parser.add_argument(
        "--label-step",
        type=float,
        default=None,
        help="round training scores to multiples of this (1: integer STS-B labels); "
        "dev scores stay as given",
    )
    parser.add_argument("--no-export", action="store_true", help="train and select only")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing model folder")
    parser.add_argument("--no-progress", action="store_true")


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    copied = ("source", "train", "dev", "name", "out_dir", "models_dir", "objective", "epochs")
    copied += ("batch_size", "lr", "seed", "max_length", "label_step")
    return TrainConfig(
        **{key: getattr(args, key) for key in copied},
        thresholds=tuple(args.thresholds) if args.thresholds else None,
        export=not args.no_export,
        overwrite=args.overwrite,
        progress=not args.no_progress,
    )


def run(args: argparse.Namespace) -> int:
    try:
        config = config_from_args(args)
        result = train(config)
    except (SimserveError, ValueError) as exc:
        print(f"train-cosent: {getattr(exc, 'message', exc)}", file=sys.stderr)
        return 2
    best = result.state.best
    print(
        f"best epoch {best.epoch}: dev Spearman {best.dev_spearman:.2f} "
        f"(source {result.state.initial_dev_spearman:.2f}); checkpoint {result.best_dir}"
        + (f"; served model {result.exported}" if result.exported else "")
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m models train-cosent", description=__doc__.split("\n\n")[0]
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
