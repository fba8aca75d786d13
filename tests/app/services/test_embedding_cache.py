"""EmbeddingService with the vector cache, on a tiny real model (real onnxruntime path)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import numpy as np
import pytest

from app.engines.registry import ModelRegistry
from app.errors import ValidationFailed
from app.metrics import Metrics
from app.services.embedding import EmbeddingService
from app.services.vector_cache import VectorCache
from app.settings import BatcherSettings, LimitsSettings, ModelSettings

TEXTS = ["how do I reset my password", "where is my order", "cancel my subscription"]


@pytest.fixture(scope="module")
def registry(tiny_models_dir) -> Iterator[ModelRegistry]:
    reg = ModelRegistry(
        ModelSettings(dirs=[tiny_models_dir], default="tiny", intra_op_threads=1),
        BatcherSettings(),
    )
    reg.load_all()
    yield reg
    reg.close(5.0)


def services(registry, max_bytes: int = 1 << 20) -> tuple[EmbeddingService, EmbeddingService]:
    """(cache-on, cache-off) services over the same models."""
    metrics = Metrics()
    cache = VectorCache(max_bytes, metrics)
    return (
        EmbeddingService(registry, LimitsSettings(), metrics, cache),
        EmbeddingService(registry, LimitsSettings()),
    )


@pytest.mark.parametrize("normalize", [True, False])
def test_hit_returns_the_vector_the_engine_returns(registry, normalize):
    on, off = services(registry)
    expected = asyncio.run(off.embed(TEXTS, normalize=normalize))
    miss = asyncio.run(on.embed(TEXTS, normalize=normalize))
    hit = asyncio.run(on.embed(TEXTS, normalize=normalize))
    assert (on.cache.misses, on.cache.hits) == (3, 3)
    for got in (miss, hit):
        np.testing.assert_array_equal(got.vectors, expected.vectors)
        assert (got.tokens, got.truncated, got.dim) == (
            expected.tokens,
            expected.truncated,
            expected.dim,
        )
    norms = np.linalg.norm(hit.vectors, axis=1)
    if normalize:
        np.testing.assert_allclose(norms, 1.0, atol=1e-5)
    else:
        assert not np.allclose(norms, 1.0, atol=1e-3)


def test_normalisation_applies_after_the_cache(registry):
    on, _ = services(registry)
    raw = asyncio.run(on.embed(TEXTS[:1], normalize=False))
    unit = asyncio.run(on.embed(TEXTS[:1], normalize=True))  # a hit on the raw entry
    assert on.cache.hits == 1
    np.testing.assert_allclose(
        unit.vectors,
        raw.vectors / np.linalg.norm(raw.vectors, axis=1, keepdims=True),
        rtol=1e-6,
        atol=1e-7,
    )


def test_partial_hits_keep_request_order(registry):
    on, off = services(registry)
    asyncio.run(on.embed([TEXTS[1]]))
    mixed = ["new text here", TEXTS[1], "another new one"]
    got = asyncio.run(on.embed(mixed))
    assert on.cache.hits == 1
    np.testing.assert_array_equal(got.vectors, asyncio.run(off.embed(mixed)).vectors)


def test_truncation_flag_is_part_of_the_key(registry):
    on, _ = services(registry)
    long = " ".join(["word"] * 2000)
    cut = asyncio.run(on.embed([long], truncate=True))
    assert cut.truncated == 1
    # the truncated vector is cached under truncate=True; truncate=False must still refuse
    with pytest.raises(ValidationFailed, match="truncate is false"):
        asyncio.run(on.embed([long], truncate=False))
    again = asyncio.run(on.embed([long], truncate=True))
    assert again.truncated == 1 and on.cache.hits == 1
    np.testing.assert_array_equal(again.vectors, cut.vectors)


def test_eviction_by_bytes_recomputes_the_same_vector(registry):
    on, off = services(registry)
    asyncio.run(on.embed(TEXTS[:1]))
    one = on.cache.nbytes
    on.cache.max_bytes = 2 * one
    asyncio.run(on.embed(TEXTS[1:]))  # two more entries: the first is evicted
    assert len(on.cache) == 2 and on.cache.evictions == 1
    got = asyncio.run(on.embed(TEXTS[:1]))
    assert on.cache.hits == 0
    np.testing.assert_array_equal(got.vectors, asyncio.run(off.embed(TEXTS[:1])).vectors)


def test_off_switch_means_no_cache(registry):
    _, off = services(registry)
    assert off.cache is None
    a = asyncio.run(off.embed(TEXTS))
    b = asyncio.run(off.embed(TEXTS))
    np.testing.assert_array_equal(a.vectors, b.vectors)


def test_token_vector_requests_bypass_lookup_but_fill_the_cache(registry):
    on, off = services(registry)
    first = asyncio.run(on.embed(TEXTS[:2], want_tokens=True))
    second = asyncio.run(on.embed(TEXTS[:2], want_tokens=True))
    assert on.cache.hits == 0 and len(on.cache) == 2
    assert second.token_vectors is not None and len(second.token_vectors) == 2
    for a, b in zip(first.token_vectors, second.token_vectors, strict=True):
        np.testing.assert_array_equal(a, b)
    plain = asyncio.run(on.embed(TEXTS[:2]))
    assert on.cache.hits == 2
    np.testing.assert_array_equal(plain.vectors, asyncio.run(off.embed(TEXTS[:2])).vectors)


def test_metrics_count_hits_and_misses(registry):
    on, _ = services(registry)
    asyncio.run(on.embed(TEXTS))
    asyncio.run(on.embed(TEXTS[:2]))
    reg = on.metrics.registry
    assert reg.get_sample_value("simserve_vector_cache_misses_total", {"model": "tiny"}) == 3
    assert reg.get_sample_value("simserve_vector_cache_hits_total", {"model": "tiny"}) == 2
    assert reg.get_sample_value("simserve_vector_cache_bytes") == on.cache.nbytes > 0


def test_concurrent_requests_from_threads(registry):
    on, off = services(registry)
    texts = [f"question number {i}" for i in range(12)]
    expected = {t: v for t, v in zip(texts, asyncio.run(off.embed(texts)).vectors, strict=True)}
    errors: list[str] = []

    def client(seed: int) -> None:
        rng = np.random.default_rng(seed)
        for _ in range(15):
            batch = [texts[int(i)] for i in rng.integers(len(texts), size=3)]
            got = asyncio.run(on.embed(batch))
            for t, v in zip(batch, got.vectors, strict=True):
                # batch-mates differ between runs: fp32 vectors agree to float tolerance
                if not np.allclose(v, expected[t], rtol=1e-5, atol=1e-6):
                    errors.append(t)

    threads = [threading.Thread(target=client, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert on.cache.hits + on.cache.misses == 4 * 15 * 3
    assert on.cache.hits > 0 and len(on.cache) <= len(texts)
