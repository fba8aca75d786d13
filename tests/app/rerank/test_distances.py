import numpy as np
import pytest
from scipy.optimize import linprog
from scipy.spatial.distance import cdist

from app.rerank.distances import (
    RerankMethod,
    similarity,
    wmd_distance,
    wmd_lower_bound,
    wrd_cost,
    wrd_distance,
    wrd_lower_bound,
)


def emd_oracle(p: np.ndarray, q: np.ndarray, cost: np.ndarray) -> float:
    """Brute-force transport LP (Su's reference formulation, last constraint dropped)."""
    n, m = cost.shape
    a_eq = []
    for i in range(n):
        row = np.zeros((n, m))
        row[i, :] = 1
        a_eq.append(row.ravel())
    for j in range(m):
        col = np.zeros((n, m))
        col[:, j] = 1
        a_eq.append(col.ravel())
    b_eq = np.concatenate([p, q])
    res = linprog(cost.ravel(), A_eq=np.array(a_eq[:-1]), b_eq=b_eq[:-1], bounds=(0, None))
    assert res.success
    return float(res.fun)


def oracle_wmd(a, b):
    p = np.full(len(a), 1 / len(a))
    q = np.full(len(b), 1 / len(b))
    return emd_oracle(p, q, cdist(a, b))


def oracle_wrd(a, b):
    na, nb = np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1)
    cos = (a / na[:, None]) @ (b / nb[:, None]).T
    return emd_oracle(na / na.sum(), nb / nb.sum(), 1 - cos)


@pytest.mark.parametrize("seed", range(8))
def test_matches_linprog_oracle(seed):
    rng = np.random.default_rng(seed)
    n, m, d = rng.integers(1, 7), rng.integers(1, 7), rng.integers(2, 9)
    a = rng.normal(size=(n, d)) * rng.uniform(0.2, 3, size=(n, 1))
    b = rng.normal(size=(m, d)) * rng.uniform(0.2, 3, size=(m, 1))
    np.testing.assert_allclose(wmd_distance(a, b), oracle_wmd(a, b), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(wrd_distance(a, b), oracle_wrd(a, b), rtol=1e-7, atol=1e-9)


def test_hand_cases_single_tokens():
    a = np.array([[3.0, 0.0]])
    b = np.array([[0.0, 4.0]])
    assert wmd_distance(a, b) == pytest.approx(5.0)
    assert wrd_distance(a, b) == pytest.approx(1.0)  # orthogonal: 1 - cos = 1
    assert wrd_distance(a, -a) == pytest.approx(2.0)
    assert similarity(RerankMethod.WRD, a, b) == pytest.approx(0.0)
    assert similarity(RerankMethod.WMD, a, b) == pytest.approx(-5.0)


def test_hand_case_two_tokens_weighted_by_norm():
    # a: big token along x (norm 3) and small along y (norm 1): weights 3/4, 1/4.
    # b: one token along x. All mass goes to b's token: WRD = 3/4 * 0 + 1/4 * 1 = 0.25.
    a = np.array([[3.0, 0.0], [0.0, 1.0]])
    b = np.array([[2.0, 0.0]])
    assert wrd_distance(a, b) == pytest.approx(0.25)
    # WMD: uniform weights 1/2 each; distances |(3,0)-(2,0)| = 1, |(0,1)-(2,0)| = sqrt(5).
    assert wmd_distance(a, b) == pytest.approx(0.5 * 1 + 0.5 * np.sqrt(5))


def test_identity_symmetry_permutation_and_scale():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(5, 16)), rng.normal(size=(7, 16))
    assert wmd_distance(a, a) == pytest.approx(0, abs=1e-9)
    assert wrd_distance(a, a) == pytest.approx(0, abs=1e-9)
    for f in (wmd_distance, wrd_distance):
        assert f(a, b) == pytest.approx(f(b, a), rel=1e-9)
        assert f(a[::-1], b) == pytest.approx(f(a, b), rel=1e-9)
    assert wrd_distance(2.5 * a, b) == pytest.approx(wrd_distance(a, b), rel=1e-9)
    assert 0.0 <= wrd_distance(a, b) <= 2.0


@pytest.mark.parametrize("seed", range(20))
def test_lower_bounds_never_exceed_exact(seed):
    rng = np.random.default_rng(100 + seed)
    a = rng.normal(size=(rng.integers(1, 12), 24)) + rng.normal(size=24)
    b = rng.normal(size=(rng.integers(1, 12), 24))
    assert wmd_lower_bound(a, b) <= wmd_distance(a, b) + 1e-9
    assert wrd_lower_bound(a, b) <= wrd_distance(a, b) + 1e-9


def test_cost_matrix_shape_and_range():
    rng = np.random.default_rng(3)
    c = wrd_cost(rng.normal(size=(4, 5)), rng.normal(size=(3, 5)))
    assert c.shape == (4, 3) and c.dtype == np.float64
    assert np.all((c >= 0) & (c <= 2))


def test_float32_inputs_accepted():
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(3, 8)), rng.normal(size=(4, 8))
    np.testing.assert_allclose(
        wrd_distance(a.astype(np.float32), b.astype(np.float32)), wrd_distance(a, b), rtol=1e-5
    )


@pytest.mark.parametrize(
    "a, b, match",
    [
        (np.zeros((0, 4)), np.ones((2, 4)), "non-empty"),
        (np.ones(4), np.ones((2, 4)), "non-empty"),
        (np.ones((2, 4)), np.ones((2, 5)), "dimensions differ"),
        (np.array([[np.nan, 1.0]]), np.ones((1, 2)), "NaN"),
        (np.ones((2, 3), dtype=np.int64), np.ones((2, 3)), "float"),
    ],
)
def test_bad_shapes_raise(a, b, match):
    with pytest.raises(ValueError, match=match):
        wmd_distance(a, b)


def test_wrd_all_zero_vectors_raise():
    with pytest.raises(ValueError, match="zero"):
        wrd_distance(np.zeros((2, 3)), np.ones((1, 3)))


def test_method_parse_lists_valid_values():
    assert RerankMethod.parse("wrd") is RerankMethod.WRD
    with pytest.raises(ValueError, match="wmd, wrd"):
        RerankMethod.parse("cosine")
