"""A resumable training run directory.

Layout of RUN_DIR::

    run.json            human-readable mirror of the state (config, history, best epoch)
    last/               sentence-transformers folder after the last finished epoch
    last/trainer.pt     the source of truth: RunState + optimizer, loss head and RNG states
    best/               sentence-transformers folder of the best dev epoch so far
    best/epoch.json     which epoch `best/` holds, with its dev score

Folders are written next to their target and swapped in with renames. `best/` is written
before `last/`, so a crash between the two at worst repeats one epoch deterministically.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

STATE_FILE = "trainer.pt"
RUN_FILE = "run.json"


@dataclass(frozen=True)
class EpochRecord:
    epoch: int  # 1-based
    steps: int
    train_loss: float  # mean over the epoch's steps
    dev_spearman: float  # x100
    seconds: float  # training time of the epoch, without the dev evaluation


@dataclass(frozen=True)
class RunState:
    config: dict[str, Any]
    initial_dev_spearman: float  # x100, the source model before any step
    history: tuple[EpochRecord, ...] = field(default_factory=tuple)

    @property
    def epochs_done(self) -> int:
        return len(self.history)

    @property
    def best(self) -> EpochRecord | None:
        """Best epoch by dev Spearman (the earliest on ties); None before the first epoch."""
        if not self.history:
            return None
        return max(self.history, key=lambda r: (r.dev_spearman, -r.epoch))

    def to_json(self) -> dict[str, Any]:
        best = self.best
        return {
            "config": self.config,
            "initial_dev_spearman": self.initial_dev_spearman,
            "epochs_done": self.epochs_done,
            "best_epoch": best.epoch if best else None,
            "best_dev_spearman": best.dev_spearman if best else None,
            "history": [asdict(r) for r in self.history],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunState:
        history = tuple(EpochRecord(**r) for r in data["history"])
        return cls(data["config"], float(data["initial_dev_spearman"]), history)


def capture_rng() -> dict[str, Any]:
    return {
        "torch": torch.get_rng_state(),
        "numpy": np.random.get_state(),
        "python": random.getstate(),
    }


def restore_rng(states: dict[str, Any]) -> None:
    torch.set_rng_state(states["torch"])
    np.random.set_state(states["numpy"])
    random.setstate(states["python"])


def replace_dir(target: Path, write: Callable[[Path], None]) -> None:
    """Call `write(tmp)` on a fresh sibling folder, then swap it in for `target`."""
    tmp = target.with_name(f".{target.name}.tmp")
    old = target.with_name(f".{target.name}.old")
    for stale in (tmp, old):
        if stale.exists():
            shutil.rmtree(stale)
    tmp.mkdir(parents=True)
    write(tmp)
    if target.exists():
        os.replace(target, old)
    os.replace(tmp, target)
    if old.exists():
        shutil.rmtree(old)


def write_run_json(run_dir: Path, state: RunState) -> None:
    tmp = run_dir / f".{RUN_FILE}.tmp"
    tmp.write_text(json.dumps(state.to_json(), indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, run_dir / RUN_FILE)


def save_trainer_state(folder: Path, state: RunState, extra: dict[str, Any]) -> None:
    """Write trainer.pt: the RunState plus optimizer / head / RNG state dicts in `extra`."""
    torch.save({"state": state.to_json(), **extra, "rng": capture_rng()}, folder / STATE_FILE)


def load_trainer_state(run_dir: Path) -> tuple[RunState, dict[str, Any]] | None:
    """(RunState, raw payload) from RUN_DIR/last/trainer.pt, or None for a fresh run."""
    path = run_dir / "last" / STATE_FILE
    if not path.exists():
        return None
    payload = torch.load(path, map_location="cpu", weights_only=False)
    return RunState.from_json(payload["state"]), payload
