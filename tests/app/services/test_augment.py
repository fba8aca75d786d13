"""An augmented upsert below HTTP, on a fake encoder and a fake augmenter: the collection's
model is checked before any decoding, and a generated alias is embedded once (the vector
it was ranked with is stored when the generator's model is the collection's)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import numpy as np
import pytest

from app.errors import Conflict
from app.index.store import CollectionStore
from app.services.augment import AugmentOptions, GeneratedAliases
from app.services.collections import CollectionService, DocumentInput
from app.services.embedding import EmbeddingService
from app.services.search import SearchService
from app.services.token_cache import TokenVectorCache
from app.settings import CollectionSettings, LimitsSettings
from tests.app.services.fakes import FakeRegistry, fake_vector


class FakeAugmenter:
    """Two aliases per text ("<text> again", "<text> once more"), ranked by `model`."""

    def __init__(self, model: str):
        self.model = model
        self.calls: list[list[str]] = []

    async def aliases(self, texts: Sequence[str], options: AugmentOptions):
        self.calls.append(list(texts))
        out = []
        for text in texts:
            aliases = [f"{text} again", f"{text} once more"][: options.k]
            rows = np.stack([fake_vector(a) for a in aliases])
            unit = rows / np.linalg.norm(rows, axis=1, keepdims=True)
            out.append(GeneratedAliases(self.model, aliases, unit.astype(np.float32)))
        return out


@pytest.fixture()
def build(tmp_path):
    stores = []

    def make(generator_model: str):
        registry = FakeRegistry(names=("fake", "other"), max_submit=64)
        limits = LimitsSettings()
        store = CollectionStore(CollectionSettings(data_dir=tmp_path, default_index="flat"))
        store.open_all()
        stores.append(store)
        augmenter = FakeAugmenter(generator_model)
        service = CollectionService(
            store, EmbeddingService(registry, limits), store.settings, limits, augmenter
        )
        return service, registry, augmenter

    yield make
    for store in stores:
        store.close()


def test_the_collection_model_is_checked_before_decoding(build):
    collections, registry, augmenter = build("other")
    asyncio.run(collections.create("faq", model="other"))
    del registry._served["other"]  # the server no longer serves the collection's model
    docs = [DocumentInput("a", "reset my password", {})]
    with pytest.raises(Conflict, match="does not serve"):
        asyncio.run(collections.upsert("faq", docs, AugmentOptions(k=2)))
    assert augmenter.calls == []


def test_generated_aliases_are_embedded_once_by_the_same_model(build):
    collections, registry, augmenter = build("fake")
    asyncio.run(collections.create("faq", model="fake"))
    docs = [DocumentInput("a", "reset my password", {}, aliases=["forgot password"])]
    ack = asyncio.run(collections.upsert("faq", docs, AugmentOptions(k=2)))
    assert ack.aliases == 3 and augmenter.calls == [["reset my password"]]
    # the text, then the given alias: the generated ones come with their ranking vectors
    assert registry.submissions("fake") == [1, 1]
    search = SearchService(collections, TokenVectorCache(1 << 20))
    hit = asyncio.run(search.search("faq", ["reset my password once more"], top_k=1))
    top = hit.results[0][0]
    assert (top.id, top.matched_alias) == ("a", "reset my password once more")
    assert top.score == pytest.approx(1.0, abs=1e-5)


def test_aliases_of_another_generator_model_are_embedded_by_the_collection_model(build):
    collections, registry, _ = build("other")
    asyncio.run(collections.create("faq", model="fake"))
    docs = [DocumentInput("a", "reset my password", {})]
    ack = asyncio.run(collections.upsert("faq", docs, AugmentOptions(k=2)))
    assert ack.aliases == 2
    assert registry.submissions("fake") == [1, 2] and registry.submissions("other") == []
