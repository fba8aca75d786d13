"""The service's long-lived state, built by the FastAPI lifespan and reached via dependencies.

Other areas add their own services as fields here and build them in `build_container`.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from app.engines.backend import BackendKind
from app.engines.registry import ModelRegistry
from app.generation.decoder import DecodeMode
from app.index.store import CollectionStore
from app.metrics import Metrics
from app.services.augment import Augmenter
from app.services.collections import CollectionService
from app.services.duplicate_jobs import DuplicateJobs
from app.services.embedding import EmbeddingService
from app.services.generators import generator_factory
from app.services.matching import MatchService
from app.services.paraphrase import ParaphraseService
from app.services.search import SearchService
from app.services.similarity import SimilarityService
from app.services.token_cache import TokenVectorCache
from app.services.vector_cache import VectorCache
from app.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Container:
    settings: Settings
    metrics: Metrics
    registry: ModelRegistry
    embeddings: EmbeddingService
    collections: CollectionService
    search: SearchService
    similarity: SimilarityService
    paraphrases: ParaphraseService
    matching: MatchService
    duplicate_jobs: DuplicateJobs
    ready: bool = False
    draining: bool = False
    not_ready_reason: str = "starting"
    extras: dict = field(default_factory=dict)

    async def close(self) -> None:
        self.ready = False
        self.draining = True
        # one shared deadline for every model's queued work (lifecycle.drain_timeout_s)
        await asyncio.to_thread(self.registry.close, self.settings.lifecycle.drain_timeout_s)
        # after the batchers drained: no write is in flight; checkpoint every index
        await asyncio.to_thread(self.collections.store.close)


async def build_container(settings: Settings, metrics: Metrics) -> Container:
    mode = DecodeMode.parse(settings.generation.decode_mode)
    registry = ModelRegistry(
        settings.models,
        settings.batcher,
        metrics,
        factories={BackendKind.GENERATOR: generator_factory(settings.models, mode)},
    )
    await asyncio.to_thread(registry.load_all)
    vector_cache = (
        VectorCache(settings.cache.max_bytes, metrics) if settings.cache.enabled else None
    )
    embeddings = EmbeddingService(registry, settings.limits, metrics, vector_cache)
    store = CollectionStore(settings.collections)
    await asyncio.to_thread(store.open_all)
    paraphrases = ParaphraseService(registry, embeddings, settings.generation, metrics)
    augmenter = Augmenter(paraphrases, settings.collections)
    collections = CollectionService(
        store, embeddings, settings.collections, settings.limits, augmenter
    )
    token_cache = TokenVectorCache(settings.collections.token_cache_mb * 1024 * 1024)
    search = SearchService(collections, token_cache)
    container = Container(
        settings=settings,
        metrics=metrics,
        registry=registry,
        embeddings=embeddings,
        collections=collections,
        search=search,
        similarity=SimilarityService(embeddings, settings.limits),
        paraphrases=paraphrases,
        matching=MatchService(collections, search),
        duplicate_jobs=DuplicateJobs(collections),
    )
    if not registry.names():
        container.not_ready_reason = (
            "no models loaded: export one with `python -m models export-default` "
            f"(searched {[str(d) for d in settings.models.dirs]})"
        )
        log.error(container.not_ready_reason)
        return container
    if settings.models.warmup:
        await asyncio.to_thread(registry.warmup)
    container.ready = True
    container.not_ready_reason = ""
    return container
