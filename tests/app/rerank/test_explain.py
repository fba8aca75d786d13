"""`transport_plan`: the solution behind WMD/WRD, checked against the scores and an LP oracle."""

import numpy as np
import pytest

from app.rerank.distances import RerankMethod, distance
from app.rerank.explain import heaviest_flow, transport_plan
from tests.app.rerank.test_distances import emd_oracle


@pytest.fixture()
def pair():
    rng = np.random.default_rng(0)
    return rng.normal(size=(5, 8)), rng.normal(size=(3, 8))


@pytest.mark.parametrize("method", ["wmd", "wrd"])
def test_plan_is_feasible_and_its_cost_is_the_distance(pair, method):
    a, b = pair
    tp = transport_plan(method, a, b)
    assert tp.plan.shape == tp.cost.shape == (5, 3)
    assert tp.weights_a.shape == (5,) and tp.weights_b.shape == (3,)
    assert np.all(tp.plan >= 0)
    np.testing.assert_allclose(tp.plan.sum(axis=1), tp.weights_a, atol=1e-12)
    np.testing.assert_allclose(tp.plan.sum(axis=0), tp.weights_b, atol=1e-12)
    np.testing.assert_allclose(tp.weights_a.sum(), 1.0, atol=1e-12)
    np.testing.assert_allclose(tp.distance, float(np.sum(tp.plan * tp.cost)), atol=1e-12)
    np.testing.assert_allclose(tp.distance, distance(RerankMethod(method), a, b), atol=1e-10)
    np.testing.assert_allclose(
        tp.distance, emd_oracle(tp.weights_a, tp.weights_b, tp.cost), atol=1e-8
    )
    # an exact EMD solution is a vertex: at most n + m - 1 non-zero flows
    assert np.count_nonzero(tp.plan > 1e-15) <= 5 + 3 - 1


def test_wmd_uses_uniform_mass_and_euclidean_cost(pair):
    a, b = pair
    tp = transport_plan(RerankMethod.WMD, a, b)
    np.testing.assert_allclose(tp.weights_a, np.full(5, 0.2))
    np.testing.assert_allclose(tp.cost[1, 2], np.linalg.norm(a[1] - b[2]), rtol=1e-12)


def test_wrd_uses_norm_mass_and_cosine_cost(pair):
    a, b = pair
    tp = transport_plan(RerankMethod.WRD, a, b)
    norms = np.linalg.norm(a, axis=1)
    np.testing.assert_allclose(tp.weights_a, norms / norms.sum(), rtol=1e-12)
    cos = a[0] @ b[1] / (np.linalg.norm(a[0]) * np.linalg.norm(b[1]))
    np.testing.assert_allclose(tp.cost[0, 1], 1 - cos, rtol=1e-12)


def test_a_shared_heavy_word_carries_the_heaviest_wrd_flow():
    """Tokens (how, reset, password) vs (forgot, password), password the longest vector:
    under WRD (mass ~ norm) password -> password carries the most. (Under WMD every token
    has the same mass, so flows of 1/n tie and "heaviest" means little.)"""
    rng = np.random.default_rng(1)
    words = {w: rng.normal(size=16) for w in ["how", "reset", "password", "forgot"]}
    a = np.stack([words["how"], words["reset"], words["password"] * 3.0])
    b = np.stack([words["forgot"], words["password"] * 3.0])
    tp = transport_plan(RerankMethod.WRD, a, b)
    assert heaviest_flow(tp.plan) == (2, 1)
    np.testing.assert_allclose(tp.cost[2, 1], 0.0, atol=1e-12)


def test_inputs_are_not_modified(pair):
    a, b = pair
    a0, b0 = a.copy(), b.copy()
    transport_plan("wrd", a, b)
    np.testing.assert_array_equal(a, a0)
    np.testing.assert_array_equal(b, b0)


def test_bad_inputs_raise_value_error(pair):
    a, b = pair
    with pytest.raises(ValueError, match="valid: wmd, wrd"):
        transport_plan("cosine", a, b)
    with pytest.raises(ValueError, match="dimensions differ"):
        transport_plan("wmd", a, b[:, :4])
    with pytest.raises(ValueError, match="all zero|every token vector"):
        transport_plan("wrd", np.zeros((2, 8)), b)
    with pytest.raises(ValueError, match="non-empty"):
        heaviest_flow(np.zeros((0, 3)))


def test_heaviest_flow_takes_the_first_on_ties():
    assert heaviest_flow(np.array([[0.1, 0.4], [0.4, 0.1]])) == (0, 1)
