import numpy as np
import pytest

from app.services.token_cache import TokenVectorCache


def tokens(n, d=4, fill=1.0):
    return np.full((n, d), fill, dtype=np.float32)  # n * d * 4 bytes


def test_hit_miss_and_model_in_key():
    cache = TokenVectorCache(1024)
    assert cache.get("m", "a") is None
    cache.put("m", "a", tokens(2))
    np.testing.assert_array_equal(cache.get("m", "a"), tokens(2))
    assert cache.get("other", "a") is None
    assert (cache.hits, cache.misses) == (1, 2)


def test_evicts_least_recently_used_within_budget():
    cache = TokenVectorCache(3 * 32)  # three (2, 4) float32 entries
    for key in "abc":
        cache.put("m", key, tokens(2))
    cache.get("m", "a")  # a is now most recent; b is the oldest
    cache.put("m", "d", tokens(2))
    assert cache.get("m", "b") is None
    assert all(cache.get("m", k) is not None for k in "acd")
    assert cache.nbytes == 3 * 32 and len(cache) == 3


def test_replacing_a_key_keeps_byte_count_right_and_oversize_is_skipped():
    cache = TokenVectorCache(100)
    cache.put("m", "a", tokens(2))
    cache.put("m", "a", tokens(1))
    assert cache.nbytes == 16 and len(cache) == 1
    cache.put("m", "big", tokens(10))  # 160 bytes > budget: not cached, nothing evicted
    assert cache.get("m", "big") is None and cache.get("m", "a") is not None


def test_entries_are_read_only_copies():
    cache = TokenVectorCache(1024)
    src = tokens(2)
    cache.put("m", "a", src)
    src[:] = 5.0
    got = cache.get("m", "a")
    assert float(got[0, 0]) == 1.0
    with pytest.raises(ValueError):
        got[0, 0] = 2.0


def test_negative_budget_rejected():
    with pytest.raises(ValueError, match="max_bytes"):
        TokenVectorCache(-1)
