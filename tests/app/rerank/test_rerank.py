import numpy as np
import pytest

from app.rerank.distances import RerankMethod, similarity
from app.rerank.rerank import lower_bounds, rerank


def make_candidates(seed: int, n: int, d: int = 16):
    rng = np.random.default_rng(seed)
    query = rng.normal(size=(6, d))
    cands = [
        rng.normal(size=(int(rng.integers(2, 10)), d)) + rng.normal(scale=2.0, size=d)
        for _ in range(n)
    ]
    return query, cands


@pytest.mark.parametrize("method", list(RerankMethod))
def test_orders_by_exact_similarity(method):
    query, cands = make_candidates(0, 12)
    result = rerank(method, query, cands)
    expected = np.array([similarity(method, query, c) for c in cands])
    np.testing.assert_array_equal(result.indices, np.argsort(-expected, kind="stable"))
    np.testing.assert_allclose(result.scores, np.sort(expected)[::-1], rtol=1e-12)
    assert result.n_exact == 12


@pytest.mark.parametrize("method", list(RerankMethod))
@pytest.mark.parametrize("seed", range(5))
def test_pruning_returns_the_same_top_k(method, seed):
    query, cands = make_candidates(seed, 40)
    full = rerank(method, query, cands, top_k=5)
    pruned = rerank(method, query, cands, top_k=5, prune=True)
    np.testing.assert_array_equal(pruned.indices, full.indices)
    np.testing.assert_allclose(pruned.scores, full.scores, rtol=1e-12)
    assert full.n_exact == len(cands)  # exhaustive solves every problem
    # pruning may skip a candidate only when its lower bound is no better than the k-th
    # best exact distance; every candidate whose bound is below it must have been solved
    distances = -full.scores if method is RerankMethod.WMD else 1.0 - full.scores
    kth = distances[-1]
    must_solve = int(np.sum(lower_bounds(method, query, cands) < kth))
    assert must_solve <= pruned.n_exact <= len(cands)


def test_pruning_skips_far_candidates():
    rng = np.random.default_rng(9)
    query = rng.normal(size=(4, 8))
    near = [query + rng.normal(scale=0.01, size=query.shape) for _ in range(3)]
    far = [rng.normal(size=(4, 8)) + 50.0 for _ in range(30)]
    result = rerank(RerankMethod.WMD, query, far + near, top_k=3, prune=True)
    assert sorted(result.indices.tolist()) == [30, 31, 32]
    assert result.n_exact < 10


def test_lower_bounds_shape():
    query, cands = make_candidates(1, 7)
    for method in RerankMethod:
        lb = lower_bounds(method, query, cands)
        assert lb.shape == (7,) and lb.dtype == np.float64


def test_edge_cases():
    query, cands = make_candidates(2, 3)
    assert rerank("wrd", query, [], top_k=5).indices.shape == (0,)
    assert rerank("wrd", query, cands, top_k=10).indices.shape == (3,)
    with pytest.raises(ValueError, match="top_k"):
        rerank("wrd", query, cands, top_k=-1)
    with pytest.raises(ValueError, match="valid"):
        rerank("cos", query, cands)
