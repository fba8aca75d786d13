"""Calibration math against brute force and known parameters; every bad input named."""

from __future__ import annotations

import math

import numpy as np
import pytest

from app.index.calibration import (
    Calibration,
    CalibrationMethod,
    best_threshold,
    fit,
    fit_isotonic,
    fit_logistic,
    model_fingerprint,
)


def _pairs(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    scores = np.where(labels == 1, rng.normal(0.8, 0.08, n), rng.normal(0.55, 0.1, n))
    return scores, labels


def test_best_threshold_matches_brute_force():
    scores, labels = _pairs(300, seed=1)
    threshold, accuracy = best_threshold(scores, labels)
    brute = max(np.mean((scores >= t) == labels) for t in np.concatenate([scores, [9.0]]))
    assert accuracy == pytest.approx(brute, abs=1e-12)
    assert np.mean((scores >= threshold) == labels) == pytest.approx(accuracy, abs=1e-12)


def test_best_threshold_splits_a_gap_in_half():
    scores = np.array([0.1, 0.2, 0.3, 0.7, 0.8, 0.9])
    labels = np.array([0, 0, 0, 1, 1, 1])
    threshold, accuracy = best_threshold(scores, labels)
    assert accuracy == 1.0
    assert threshold == pytest.approx(0.5)


def test_logistic_recovers_known_parameters():
    rng = np.random.default_rng(2)
    scores = rng.uniform(0, 1, 40_000)
    labels = (rng.uniform(0, 1, scores.size) < 1 / (1 + np.exp(-(12 * scores - 8)))).astype(int)
    a, b = fit_logistic(scores, labels)
    np.testing.assert_allclose([a, b], [12, -8], rtol=0.08)


def test_isotonic_is_monotone_and_exact_on_monotone_data():
    scores, labels = _pairs(500, seed=3)
    x, y = fit_isotonic(scores, labels)
    assert np.all(np.diff(x) > 0) and np.all(np.diff(y) >= 0)
    x2, y2 = fit_isotonic(np.array([0.1, 0.2, 0.3]), np.array([0, 0, 1]))
    np.testing.assert_allclose(x2, [0.15, 0.3])
    np.testing.assert_allclose(y2, [0.0, 1.0])


@pytest.mark.parametrize("method", list(CalibrationMethod))
def test_fit_probability_grows_and_round_trips(method):
    scores, labels = _pairs(400, seed=4)
    cal = fit(scores, labels, model="m", fingerprint="f" * 16, method=method)
    probs = [cal.probability(s) for s in (0.2, 0.5, 0.7, 0.95)]
    assert probs == sorted(probs) and 0 <= probs[0] < 0.5 < probs[-1] <= 1
    assert cal.pairs == 400 and cal.positives == int(labels.sum())
    again = Calibration.from_dict(cal.to_dict())
    assert again == cal


@pytest.mark.parametrize(
    ("scores", "labels", "message"),
    [
        ([0.5] * 30, [1] * 30, "one class only"),
        ([0.5] * 10, [0, 1] * 5, "too few pairs: 10"),
        ([0.5] * 29 + [math.nan], [0, 1] * 15, "NaN/inf, the first at index 29"),
        ([0.5] * 30, [0, 1] * 14 + [1, 2], "labels must be 0 or 1; index 29"),
        ([0.5] * 30, [0] * 27 + [1] * 3, "too few pairs of one class: 3 positive"),
    ],
)
def test_bad_pairs_are_named(scores, labels, message):
    with pytest.raises(ValueError, match=message):
        fit(scores, labels, model="m", fingerprint="f")


def test_from_dict_rejects_non_finite_and_unknown_method():
    cal = fit(*_pairs(100), model="m", fingerprint="f").to_dict()
    with pytest.raises(ValueError, match="finite"):
        Calibration.from_dict({**cal, "threshold": float("nan")})
    with pytest.raises(ValueError, match="valid: logistic, isotonic"):
        Calibration.from_dict({**cal, "method": "magic"})
    with pytest.raises(ValueError, match="lacks model"):
        Calibration.from_dict({k: v for k, v in cal.items() if k != "model"})


def test_fingerprint_follows_file_hashes_not_their_order():
    a = model_fingerprint({"x.onnx": "1", "t.json": "2"})
    assert a == model_fingerprint({"t.json": "2", "x.onnx": "1"})
    assert a != model_fingerprint({"x.onnx": "3", "t.json": "2"})
    assert len(a) == 16
