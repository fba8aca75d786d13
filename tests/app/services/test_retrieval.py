"""Collections, search and similarity services below HTTP, on a fake encoder and a real
faiss store: texts are checked once by the use-case's own rules and every internal list
goes through `EmbeddingService.encode` (chunked by the batcher's take, not max_texts)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import numpy as np
import pytest

from app.errors import InvalidInput, PayloadTooLarge
from app.index.store import CollectionStore
from app.rerank.distances import RerankMethod
from app.services.collections import CollectionService, DocumentInput
from app.services.embedding import EmbeddingService
from app.services.search import RerankOptions, SearchService
from app.services.similarity import SimilarityService
from app.services.token_cache import TokenVectorCache
from app.settings import CollectionSettings, LimitsSettings
from tests.app.services.fakes import FakeRegistry, fake_vector

CHUNK = 32


@pytest.fixture()
def services(tmp_path) -> Iterator[tuple[CollectionService, SearchService, FakeRegistry]]:
    registry = FakeRegistry(max_submit=CHUNK)
    limits = LimitsSettings(max_texts=16)
    embeddings = EmbeddingService(registry, limits)
    store = CollectionStore(CollectionSettings(data_dir=tmp_path, default_index="flat"))
    store.open_all()
    collections = CollectionService(store, embeddings, store.settings, limits)
    yield collections, SearchService(collections, TokenVectorCache(1 << 20)), registry
    store.close()


def no_edge_checks(monkeypatch) -> None:
    """Fail if an internal path goes through the request edge (texts checked twice)."""

    def refuse(self, texts, param="texts"):
        raise AssertionError(f"internal path re-checked {param} at the request edge")

    monkeypatch.setattr(EmbeddingService, "check_texts", refuse)


def test_upsert_of_more_documents_than_max_texts_is_chunked_by_the_batcher(services, monkeypatch):
    collections, search, registry = services
    no_edge_checks(monkeypatch)
    asyncio.run(collections.create("faq"))
    docs = [DocumentInput(f"d{i}", f"document {i} about topic {i % 7}", {}) for i in range(100)]
    ack = asyncio.run(collections.upsert("faq", docs))
    assert ack.count == 100
    assert registry.submissions() == [32, 32, 32, 4]
    got = asyncio.run(search.search("faq", ["document 42 about topic 0"], top_k=1))
    assert got.results[0][0].id == "d42"
    assert got.results[0][0].score == pytest.approx(1.0, abs=1e-5)


def test_search_checks_its_queries_once_and_by_its_own_limits(services, monkeypatch):
    collections, search, registry = services
    asyncio.run(collections.create("faq"))
    asyncio.run(collections.upsert("faq", [DocumentInput("a", "reset my password", {})]))
    no_edge_checks(monkeypatch)
    with pytest.raises(InvalidInput) as exc:
        asyncio.run(search.search("faq", ["fine", " "]))
    assert exc.value.param == "queries[1]"
    with pytest.raises(PayloadTooLarge):
        asyncio.run(search.search("faq", ["q"] * 65))  # collections.max_queries = 64
    before = len(registry.submissions())
    result = asyncio.run(search.search("faq", ["password reset"] * 20))  # > max_texts = 16
    assert len(result.results) == 20 and len(registry.submissions()) == before + 1


def test_rerank_candidates_token_vectors_are_encoded_in_one_pass(services):
    collections, search, registry = services
    asyncio.run(collections.create("faq"))
    docs = [DocumentInput(f"d{i}", f"word{i} shared text", {}) for i in range(40)]
    asyncio.run(collections.upsert("faq", docs))
    before = list(registry.submissions())
    options = RerankOptions(RerankMethod.WRD, candidates=40)
    result = asyncio.run(search.search("faq", ["shared text"], top_k=5, rerank_options=options))
    assert len(result.results[0]) == 5
    # the query (with its token vectors), then 40 candidates in chunks of the batcher take
    assert registry.submissions()[len(before) :] == [1, 32, 8]


def test_similarity_encodes_each_distinct_text_once_and_checks_once(services, monkeypatch):
    _, _, registry = services
    limits = LimitsSettings(max_texts=16)
    similarity = SimilarityService(EmbeddingService(registry, limits), limits)
    no_edge_checks(monkeypatch)
    pairs = [(f"left {i}", f"right {i}") for i in range(16)]  # 32 distinct texts > max_texts
    result = asyncio.run(similarity.pairs(pairs))
    assert registry.submissions() == [32]
    want = [
        float(np.dot(fake_vector(a), fake_vector(b)))
        / float(np.linalg.norm(fake_vector(a)) * np.linalg.norm(fake_vector(b)))
        for a, b in pairs
    ]
    np.testing.assert_allclose(result.scores, want, atol=1e-5)
    with pytest.raises(InvalidInput) as exc:
        asyncio.run(similarity.one_to_many("src", ["ok", ""]))
    assert exc.value.param == "sentences[1]"
    one = asyncio.run(similarity.one_to_many("left 0", ["right 0", "left 0"]))
    assert one.scores[0] == pytest.approx(want[0], abs=1e-5)
    assert one.scores[1] == pytest.approx(1.0, abs=1e-5)
