"""The contract every served model kind meets, so one owner (`ModelRegistry`) builds, warms
and reports them all (as infinity's `BaseEmbedder`: load, warm-up, run).

- load: a factory the registry calls once at start-up, in a worker thread, before any
  request (never lazily on the event loop); it raises ValueError/OSError for a folder that
  cannot be served;
- warmup: one small run, so the first request pays no set-up and a broken graph is found
  at start-up rather than by a user;
- run: the compute step (the encoder's batch step, the generator's decode), synchronous,
  called off the event loop.

`ModelKind.ENCODER` backends (app.engines.encoder.Encoder) are loaded by the registry
itself; other kinds (the SimBERT generator) come from factories given to the registry by
the composition root, which keeps app.engines free of app.generation.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Protocol


class BackendKind(StrEnum):
    ENCODER = "encoder"
    GENERATOR = "generator"


class ModelBackend(Protocol):
    kind: BackendKind

    def warmup(self) -> None:
        """Run once on a small input; raise on a backend that cannot serve."""

    def run(self, *args: Any, **kwargs: Any) -> Any:
        """The compute step, synchronous (called from a worker or batcher thread)."""
