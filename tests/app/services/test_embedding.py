"""EmbeddingService on a fake encoder: the checked request edge (`embed`) and the internal
`encode` path (any number of texts, chunked by the batcher's take, cache in front)."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from app.engines.registry import max_submit
from app.errors import InvalidInput, PayloadTooLarge, ValidationFailed
from app.services.embedding import EmbeddingService
from app.services.vector_cache import VectorCache
from app.settings import BatcherSettings, LimitsSettings
from tests.app.services.fakes import DIM, FakeRegistry, fake_vector


def unit(rows: list[np.ndarray]) -> np.ndarray:
    m = np.stack(rows)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


def service(max_texts: int = 8, chunk: int = 64, cache: bool = False):
    registry = FakeRegistry(max_submit=chunk)
    limits = LimitsSettings(max_texts=max_texts)
    return EmbeddingService(registry, limits, None, VectorCache(1 << 20) if cache else None)


def test_encode_chunks_a_long_list_by_the_batcher_take_and_keeps_order():
    svc = service(max_texts=8, chunk=64)
    texts = [f"text number {i} here" for i in range(300)]
    emb = asyncio.run(svc.encode(texts))
    assert svc.registry.submissions() == [64, 64, 64, 64, 44]
    assert emb.vectors.shape == (300, DIM) and emb.vectors.dtype == np.float32
    np.testing.assert_allclose(emb.vectors, unit([fake_vector(t) for t in texts]), atol=1e-6)
    assert emb.tokens == 300 * 6


def test_embed_applies_the_request_limits_before_any_work():
    svc = service(max_texts=8)
    with pytest.raises(PayloadTooLarge) as exc:
        asyncio.run(svc.embed([f"t {i}" for i in range(9)]))
    assert exc.value.param == "texts"
    with pytest.raises(InvalidInput) as exc:
        asyncio.run(svc.embed(["ok", "  "], param="input"))
    assert exc.value.param == "input[1]"
    assert svc.registry.submissions() == []
    emb = asyncio.run(svc.embed(["a b", "c"]))
    assert emb.vectors.shape == (2, DIM) and svc.registry.submissions() == [2]


def test_encode_refuses_an_over_long_text_with_its_position_across_chunks():
    svc = service(chunk=4)
    texts = ["short"] * 6 + [" ".join(["w"] * 40)]
    with pytest.raises(ValidationFailed, match="truncate is false") as exc:
        asyncio.run(svc.encode(texts, truncate=False, param="documents"))
    assert exc.value.param == "documents[6]"


def test_encode_of_nothing_is_an_empty_matrix():
    svc = service()
    emb = asyncio.run(svc.encode([], want_tokens=True))
    assert emb.vectors.shape == (0, DIM) and emb.token_vectors == []
    assert svc.registry.submissions() == []


def test_the_vector_cache_sits_in_front_of_both_paths():
    svc = service(cache=True, chunk=64)
    texts = [f"cached text {i}" for i in range(100)]
    first = asyncio.run(svc.encode(texts))
    again = asyncio.run(svc.encode(texts))
    edge = asyncio.run(svc.embed(texts[:5]))
    assert svc.registry.submissions() == [64, 36]
    np.testing.assert_array_equal(again.vectors, first.vectors)
    np.testing.assert_array_equal(edge.vectors, first.vectors[:5])
    assert svc.cache.hits == 105


def test_dimensions_keep_the_first_n_renormalised_and_refuse_more_than_the_model():
    svc = service()
    full = asyncio.run(svc.embed(["one two three"]))
    short = asyncio.run(svc.embed(["one two three"], dimensions=4))
    np.testing.assert_allclose(short.vectors, unit([full.vectors[0, :4]]), atol=1e-6)
    with pytest.raises(InvalidInput) as exc:
        asyncio.run(svc.embed(["one"], dimensions=DIM + 1))
    assert exc.value.param == "dimensions" and str(DIM) in exc.value.message


def test_max_submit_is_one_worker_take_within_the_queue():
    assert max_submit(BatcherSettings()) == 64 * 8
    assert max_submit(BatcherSettings(max_batch_size=4, sort_window=2)) == 8
    assert max_submit(BatcherSettings(queue_size=100)) == 100


def test_embed_submits_a_request_whole_so_the_queue_bound_still_answers_it():
    """A request is one submission (more texts than the queue holds: 429, as before); only
    internal lists are cut into batcher takes."""
    svc = service(max_texts=8, chunk=2)
    asyncio.run(svc.embed([f"t {i}" for i in range(5)]))
    assert svc.registry.submissions() == [5]
