from __future__ import annotations

import numpy as np
import pytest

from app.generation.sampling import (
    filter_probs,
    sample,
    sample_logits,
    softmax,
    top_k_filter,
    top_p_filter,
)

P = np.array([[0.5, 0.3, 0.15, 0.05], [0.05, 0.15, 0.3, 0.5]])


def test_softmax_rows_sum_to_one_and_temperature_sharpens():
    logits = np.array([[1.0, 2.0, 3.0], [0.0, -np.inf, 1.0]])
    p1, p_cold = softmax(logits), softmax(logits, 0.5)
    np.testing.assert_allclose(p1.sum(1), 1.0, atol=1e-12)
    assert p1[1, 1] == 0.0
    assert p_cold[0, 2] > p1[0, 2]
    np.testing.assert_allclose(p1[0], np.exp([1, 2, 3]) / np.exp([1, 2, 3]).sum(), atol=1e-12)


@pytest.mark.parametrize("bad", [np.zeros(3), np.zeros((2, 0))])
def test_shapes_are_checked(bad):
    with pytest.raises(ValueError, match="shape"):
        softmax(bad)


def test_bad_parameters_raise():
    with pytest.raises(ValueError, match="temperature"):
        softmax(P, 0.0)
    with pytest.raises(ValueError, match="top_k"):
        top_k_filter(P, 0)
    with pytest.raises(ValueError, match="top_p"):
        top_p_filter(P, 1.5)


def test_top_k_keeps_the_k_largest_and_renormalises():
    out = top_k_filter(P, 2)
    np.testing.assert_allclose(out, [[0.625, 0.375, 0, 0], [0, 0, 0.375, 0.625]], atol=1e-12)
    np.testing.assert_array_equal(top_k_filter(P, 10), P)
    assert P[0, 0] == 0.5  # input untouched


@pytest.mark.parametrize(
    ("p", "kept"), [(0.4, 1), (0.5, 2), (0.7, 2), (0.8, 3), (0.95, 4), (1.0, 4)]
)
def test_top_p_keeps_the_smallest_prefix_whose_mass_exceeds_p(p, kept):
    out = top_p_filter(P, p)
    assert (out[0] > 0).sum() == kept
    assert (out[1] > 0).sum() == kept
    mass = np.sort(P[0])[::-1][:kept].sum()
    assert mass > p or kept == 4
    np.testing.assert_allclose(out[0, :kept], P[0, :kept] / mass, atol=1e-12)


def test_top_k_then_top_p():
    out = filter_probs(np.log(P), temperature=1.0, top_k=3, top_p=0.6)
    # top-3 renormalised: 0.526, 0.316, 0.158 -> mass before third is 0.842 > 0.6
    assert (out[0] > 0).sum() == 2


def test_sample_is_seeded_and_follows_the_distribution():
    probs = np.repeat(P[:1], 20000, axis=0)
    a = sample(probs, np.random.default_rng(7))
    b = sample(probs, np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)
    freq = np.bincount(a, minlength=4) / len(a)
    np.testing.assert_allclose(freq, P[0], atol=0.015)


def test_sample_never_picks_zero_probability_entries():
    probs = top_k_filter(np.repeat(P, 5000, axis=0), 2)
    draws = sample(probs, np.random.default_rng(0))
    assert set(draws[:5000]) <= {0, 1}
    assert set(draws[5000:]) <= {2, 3}


@pytest.mark.parametrize(
    ("top_k", "top_p", "temperature"),
    [
        (1, None, 1.0),
        (5, None, 1.0),
        (5, 0.8, 0.7),
        (40, 0.95, 1.3),
        (None, 0.9, 1.0),
        (600, None, 1.0),
    ],
)
def test_sample_logits_draws_what_the_full_vocabulary_path_draws(top_k, top_p, temperature):
    rng = np.random.default_rng(0)
    for trial in range(20):
        logits = rng.normal(scale=3.0, size=(16, 500)).astype(np.float32)
        logits[3, :] = 1.0  # a row of ties
        logits[:, rng.choice(500, 7, replace=False)] = -np.inf  # banned entries
        full = sample(
            filter_probs(logits, temperature=temperature, top_k=top_k, top_p=top_p),
            np.random.default_rng(trial),
        )
        fast = sample_logits(
            logits, np.random.default_rng(trial), temperature=temperature, top_k=top_k, top_p=top_p
        )
        assert fast.dtype == np.int64 and fast.shape == (16,)
        assert np.all(np.isfinite(logits[np.arange(16), fast]))
        # rows without ties draw the same token; the all-ties row may keep other (equal) ids
        rows = np.arange(16) != 3
        np.testing.assert_array_equal(fast[rows], full[rows])


def test_sample_logits_checks_top_k():
    with pytest.raises(ValueError, match="top_k"):
        sample_logits(
            np.zeros((1, 4)), np.random.default_rng(0), temperature=1, top_k=0, top_p=None
        )
