"""Finds model folders, loads one Encoder + DynamicBatcher per model, and owns their lifetime."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from app.engines.batcher import BatchStats, DynamicBatcher, stop_all
from app.engines.encoder import EncodedText, Encoder, EncodeRequest
from app.engines.manifest import MANIFEST_FILE, ModelManifest
from app.engines.tokenizer import bucket_length
from app.errors import InvalidInput, ModelNotFound
from app.metrics import Metrics
from app.settings import BatcherSettings, ModelSettings

log = logging.getLogger(__name__)


@dataclass
class ServedModel:
    name: str
    folder: Path
    encoder: Encoder
    batcher: DynamicBatcher[EncodeRequest, EncodedText]

    @property
    def manifest(self) -> ModelManifest:
        return self.encoder.manifest


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


class ModelRegistry:
    def __init__(
        self, models: ModelSettings, batcher: BatcherSettings, metrics: Metrics | None = None
    ):
        self._models_settings = models
        self._batcher_settings = batcher
        self._metrics = metrics
        self._served: dict[str, ServedModel] = {}

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
            self._served[name] = self._load(name, found[name])

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
        return ServedModel(name, folder, encoder, batcher)

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
        """Run each model once per bucket up to 128 tokens so first requests pay no set-up."""
        for served in self._served.values():
            limit = min(128, served.manifest.max_length)
            for width in [b for b in self._batcher_settings.buckets if b <= limit]:
                text = " ".join(["warm"] * max(width - 2, 1))
                served.encoder.run([EncodeRequest(t) for t in served.encoder.tokenize([text])])

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

    @property
    def healthy(self) -> bool:
        return bool(self._served) and all(s.batcher.alive for s in self._served.values())
