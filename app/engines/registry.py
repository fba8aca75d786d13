"""Finds model folders and owns every served model's backends and their lifetime.

Per model: one `Encoder` + `DynamicBatcher`, and the backends of other kinds that the
composition root's factories build for it (the SimBERT generator), all at start-up behind
one contract (`app.engines.backend.ModelBackend`: load, warm-up, run).

A model whose encoder cannot load stops the start-up (every endpoint needs one). A backend
of another kind that cannot load or warm up is excluded and reported, consistently: its
model still serves as an encoder, `backend()` answers `Unavailable` with the reason (503),
`unavailable()` lists it for /health/ready, and callers choosing a default skip it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from app.engines.backend import BackendKind, ModelBackend
from app.engines.batcher import BatchStats, DynamicBatcher, stop_all
from app.engines.encoder import EncodedText, Encoder, EncodeRequest
from app.engines.manifest import MANIFEST_FILE, ModelManifest
from app.engines.tokenizer import bucket_length
from app.errors import InvalidInput, ModelNotFound, Unavailable
from app.metrics import Metrics
from app.settings import BatcherSettings, ModelSettings

log = logging.getLogger(__name__)


@dataclass
class ServedModel:
    name: str
    folder: Path
    encoder: Encoder
    batcher: DynamicBatcher[EncodeRequest, EncodedText]
    # texts per batcher submission for internal callers: what its worker takes at once
    # (max_batch_size x sort_window, sorted by length together), within the queue bound
    max_submit: int
    # backends of other kinds built for this model (BackendKind.GENERATOR), usable ones only
    backends: dict[BackendKind, ModelBackend] = field(default_factory=dict)

    @property
    def manifest(self) -> ModelManifest:
        return self.encoder.manifest


# builds a backend of one kind for a loaded model; None when the model has none of that kind
BackendFactory = Callable[[ServedModel], ModelBackend | None]


def discover(dirs: list[Path]) -> dict[str, Path]:
    """Model name -> folder for every `<dir>/<name>/manifest.json`; earlier dirs win."""
    found: dict[str, Path] = {}
    for root in dirs:
        if not Path(root).is_dir():
            continue
        for folder in sorted(Path(root).iterdir()):
            if (folder / MANIFEST_FILE).is_file():
                if folder.name in found:
                    log.warning(
                        "model %s in %s shadowed by %s", folder.name, folder, found[folder.name]
                    )
                    continue
                found[folder.name] = folder
    return found


def max_submit(settings: BatcherSettings) -> int:
    """Texts one internal submission holds: one worker take, never more than the queue."""
    return max(1, min(settings.max_batch_size * settings.sort_window, settings.queue_size))


class ModelRegistry:
    def __init__(
        self,
        models: ModelSettings,
        batcher: BatcherSettings,
        metrics: Metrics | None = None,
        factories: Mapping[BackendKind, BackendFactory] | None = None,
    ):
        self._models_settings = models
        self._batcher_settings = batcher
        self._metrics = metrics
        self._factories = dict(factories or {})
        self._served: dict[str, ServedModel] = {}
        self._unavailable: dict[tuple[str, BackendKind], str] = {}  # -> why excluded

    # -- loading ---------------------------------------------------------------------------
    def load_all(self) -> None:
        """Load every discovered model (or exactly `models.serve` when set)."""
        found = discover(self._models_settings.dirs)
        wanted = self._models_settings.serve or sorted(found)
        missing = [n for n in wanted if n not in found]
        if missing:
            dirs = ", ".join(str(d) for d in self._models_settings.dirs)
            raise InvalidInput(f"models {missing} not found in {dirs}")
        for name in wanted:
            served = self._load(name, found[name])
            self._served[name] = served
            self._attach(served)

    def _attach(self, served: ServedModel) -> None:
        """Build the other kinds' backends for `served`; exclude (and report) what fails."""
        for kind, factory in self._factories.items():
            try:
                backend = factory(served)
            except Exception as exc:  # a section or graph this server cannot use
                self._exclude(served.name, kind, exc)
                continue
            if backend is not None:
                served.backends[kind] = backend

    def _exclude(self, name: str, kind: BackendKind, exc: Exception) -> None:
        reason = f"{kind} {name!r} cannot be used: {exc}"
        log.error("%s (excluded; model %r still serves as an encoder)", reason, name)
        self._unavailable[(name, kind)] = reason

    def _load(self, name: str, folder: Path) -> ServedModel:
        encoder = Encoder.load(folder, self._models_settings, self._batcher_settings)
        if encoder.name != name:
            log.warning("folder %s holds model %r; serving it as %r", folder, encoder.name, name)
        buckets = self._batcher_settings.buckets
        max_length = encoder.manifest.max_length

        def cost(req: EncodeRequest) -> int:
            return bucket_length(req.tokens.n_tokens, buckets, max_length)

        batcher: DynamicBatcher[EncodeRequest, EncodedText] = DynamicBatcher(
            name,
            encoder.run,
            cost,
            self._batcher_settings,
            on_batch=self._observer(name),
            tokens=lambda req: req.tokens.n_tokens,
        )
        batcher.start()
        if self._metrics is not None:
            self._metrics.queue_depth.labels(name).set_function(lambda: batcher.depth)
        return ServedModel(name, folder, encoder, batcher, max_submit(self._batcher_settings))

    def _observer(self, name: str):
        metrics = self._metrics
        if metrics is None:
            return None

        def record(stats: BatchStats) -> None:
            metrics.batch_size.labels(name).observe(stats.size)
            metrics.batch_tokens.labels(name).observe(stats.padded_tokens)
            metrics.real_tokens.labels(name).inc(stats.real_tokens)
            metrics.padded_tokens.labels(name).inc(stats.padded_tokens)
            metrics.stage_seconds.labels(name, "queue").observe(stats.queue_wait_s)
            metrics.stage_seconds.labels(name, "inference").observe(stats.run_s)

        return record

    def warmup(self) -> None:
        """Warm every backend: encoders (a failure stops the start-up), then the other
        kinds (a failure excludes that backend, as a failed load does)."""
        for served in self._served.values():
            served.encoder.warmup()
            for kind, backend in list(served.backends.items()):
                try:
                    backend.warmup()
                except Exception as exc:
                    del served.backends[kind]
                    self._exclude(served.name, kind, exc)

    def close(self, timeout: float = 30.0) -> None:
        """Stop every model's batcher; all drain in parallel within one `timeout`."""
        stop_all([served.batcher for served in self._served.values()], timeout)

    # -- lookup ----------------------------------------------------------------------------
    def names(self) -> list[str]:
        return list(self._served)

    def all(self) -> list[ServedModel]:
        return list(self._served.values())

    def get(self, name: str | None) -> ServedModel:
        """The named model; None means the default (settings.models.default, or the only one)."""
        if name is None:
            default = self._models_settings.default
            if default in self._served:
                return self._served[default]
            if len(self._served) == 1:
                return next(iter(self._served.values()))
            raise ModelNotFound(
                f"no model given and default {default!r} is not served; choose one of {self.names()}",
                param="model",
            )
        try:
            return self._served[name]
        except KeyError:
            raise ModelNotFound(
                f"model {name!r} is not served; available: {self.names()}", param="model"
            ) from None

    def backend(self, name: str, kind: BackendKind) -> ModelBackend:
        """Model `name`'s backend of `kind`; `Unavailable` (with the reason) when it was
        excluded or the model has none."""
        served = self.get(name)
        if kind in served.backends:
            return served.backends[kind]
        reason = self._unavailable.get((name, kind))
        raise Unavailable(reason or f"model {name!r} has no {kind}")

    def unavailable(self) -> dict[str, str]:
        """Excluded backends: "model/kind" -> why (listed by /health/ready)."""
        return {f"{name}/{kind}": why for (name, kind), why in self._unavailable.items()}

    def excluded(self, name: str, kind: BackendKind) -> bool:
        return (name, kind) in self._unavailable

    @property
    def healthy(self) -> bool:
        return bool(self._served) and all(s.batcher.alive for s in self._served.values())
