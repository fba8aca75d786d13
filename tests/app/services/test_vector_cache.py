"""VectorCache: byte-bounded LRU, copies, counters, thread safety."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from app.metrics import Metrics
from app.services.vector_cache import VectorCache, entry_bytes


def vec(seed: int, dim: int = 8) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(dim).astype(np.float32)


def test_get_returns_stored_copy_read_only():
    cache = VectorCache(1 << 20)
    v = vec(0)
    cache.put("m", "a", True, v, 5, False)
    v[:] = 0  # the caller's array may change afterwards; the entry must not
    got = cache.get("m", "a", True)
    assert got is not None
    np.testing.assert_array_equal(got.vector, vec(0))
    assert (got.n_tokens, got.truncated) == (5, False)
    assert not got.vector.flags.writeable


def test_key_is_model_text_and_truncation_flag():
    cache = VectorCache(1 << 20)
    cache.put("m", "a", True, vec(0), 5, False)
    assert cache.get("m", "a", False) is None
    assert cache.get("other", "a", True) is None
    assert cache.get("m", "A", True) is None
    assert cache.get("m", "a", True) is not None
    assert (cache.hits, cache.misses) == (1, 3)


def test_lru_eviction_by_bytes():
    one = entry_bytes("t0", vec(0))
    cache = VectorCache(3 * one)
    for i in range(3):
        cache.put("m", f"t{i}", True, vec(i), 3, False)
    assert cache.nbytes == 3 * one and len(cache) == 3
    assert cache.get("m", "t0", True) is not None  # t0 now most recently used
    cache.put("m", "t3", True, vec(3), 3, False)
    assert cache.get("m", "t1", True) is None  # least recently used went
    for t in ("t0", "t2", "t3"):
        assert cache.get("m", t, True) is not None
    assert cache.evictions == 1
    assert cache.nbytes == 3 * one <= cache.max_bytes


def test_entry_larger_than_bound_is_not_stored_and_zero_bound_stores_nothing():
    cache = VectorCache(100)
    cache.put("m", "a", True, vec(0, dim=64), 3, False)
    assert len(cache) == 0 and cache.nbytes == 0
    zero = VectorCache(0)
    zero.put("m", "a", True, vec(0), 3, False)
    assert zero.get("m", "a", True) is None


def test_replacing_an_entry_keeps_byte_count_exact():
    cache = VectorCache(1 << 20)
    cache.put("m", "a", True, vec(0), 3, False)
    cache.put("m", "a", True, vec(1), 3, False)
    assert len(cache) == 1 and cache.nbytes == entry_bytes("a", vec(1))
    np.testing.assert_array_equal(cache.get("m", "a", True).vector, vec(1))


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="max_bytes"):
        VectorCache(-1)
    with pytest.raises(ValueError, match=r"\(dim,\)"):
        VectorCache(1 << 20).put("m", "a", True, np.zeros((2, 4), np.float32), 3, False)


def test_metrics_counters():
    metrics = Metrics()
    one = entry_bytes("t0", vec(0))
    cache = VectorCache(2 * one, metrics)
    cache.get("m", "t0", True)
    for i in range(3):
        cache.put("m", f"t{i}", True, vec(i), 3, False)
    cache.get("m", "t2", True)
    reg = metrics.registry
    assert reg.get_sample_value("simserve_vector_cache_hits_total", {"model": "m"}) == 1
    assert reg.get_sample_value("simserve_vector_cache_misses_total", {"model": "m"}) == 1
    assert reg.get_sample_value("simserve_vector_cache_evictions_total") == 1
    assert reg.get_sample_value("simserve_vector_cache_bytes") == 2 * one


def test_concurrent_puts_and_gets_stay_consistent():
    one = entry_bytes("t00", vec(0))
    cache = VectorCache(50 * one)
    vectors = {i: vec(i) for i in range(200)}
    errors: list[str] = []

    def worker(seed: int) -> None:
        rng = np.random.default_rng(seed)
        for _ in range(2000):
            i = int(rng.integers(200))
            got = cache.get("m", f"t{i:02d}", True)
            if got is None:
                cache.put("m", f"t{i:02d}", True, vectors[i], i, False)
            elif not np.array_equal(got.vector, vectors[i]) or got.n_tokens != i:
                errors.append(f"t{i}")

    threads = [threading.Thread(target=worker, args=(s,)) for s in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert cache.hits + cache.misses == 6 * 2000
    assert cache.nbytes <= cache.max_bytes
    assert cache.nbytes == sum(entry_bytes(k[1], vectors[0]) for k in cache._items)
