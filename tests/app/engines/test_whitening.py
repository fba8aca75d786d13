"""BERT-whitening (docs/METHODS.md 1.1) on seeded synthetic data."""

from __future__ import annotations

import numpy as np
import pytest

from app.engines.whitening import (
    MomentAccumulator,
    WhiteningTransform,
    apply_whitening,
    fit_whitening,
    load_whitening,
    save_whitening,
)


def correlated(n: int = 4000, dim: int = 8, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    mixing = rng.normal(size=(dim, dim)) * np.linspace(3.0, 0.1, dim)[:, None]
    return (rng.normal(size=(n, dim)) @ mixing + rng.normal(5.0, 2.0, size=dim)).astype(np.float32)


def accumulate(x: np.ndarray, chunk: int = 333) -> MomentAccumulator:
    acc = MomentAccumulator(x.shape[1])
    for start in range(0, len(x), chunk):
        acc.update(x[start : start + chunk])
    return acc


def cosines(a: np.ndarray) -> np.ndarray:
    unit = a / np.linalg.norm(a, axis=1, keepdims=True)
    return unit @ unit.T


def test_streaming_moments_equal_numpy():
    x = correlated()
    acc = accumulate(x)
    assert acc.count == len(x)
    np.testing.assert_allclose(acc.mean(), x.astype(np.float64).mean(0), rtol=1e-10, atol=1e-10)
    expected = np.cov(x.astype(np.float64).T, bias=True)
    np.testing.assert_allclose(acc.covariance(acc.mean()), expected, rtol=1e-8, atol=1e-8)


def test_output_covariance_is_identity():
    x = correlated()
    transform = fit_whitening(accumulate(x))
    y = apply_whitening(x, transform)
    assert y.shape == x.shape and y.dtype == np.float32
    np.testing.assert_allclose(y.mean(0), np.zeros(8), atol=1e-3)
    np.testing.assert_allclose(np.cov(y.T, bias=True), np.eye(8), atol=1e-3)


def test_matches_reference_compute_kernel_bias():
    """bojone's compute_kernel_bias: np.cov (1/(N-1)), svd, W = u / sqrt(s). Same up to scale."""
    x = correlated(n=500).astype(np.float64)
    mu = x.mean(0)
    u, s, _ = np.linalg.svd(np.cov(x.T))
    ref = (x - mu) @ (u / np.sqrt(s))[:, :5]
    ours = apply_whitening(x.astype(np.float32), fit_whitening(accumulate(x), k=5))
    scale = np.sqrt((len(x) - 1) / len(x))  # 1/N vs 1/(N-1) normaliser
    # singular vectors are defined up to sign: align column signs first
    signs = np.sign(np.sum(ref * ours, axis=0))
    np.testing.assert_allclose(ours * signs, ref / scale, rtol=0, atol=2e-3)


def test_truncation_keeps_top_k_components():
    x = correlated()
    full = apply_whitening(x, fit_whitening(accumulate(x)))
    top3 = apply_whitening(x, fit_whitening(accumulate(x), k=3))
    assert top3.shape == (len(x), 3)
    np.testing.assert_allclose(top3, full[:, :3], rtol=0, atol=1e-4)
    with pytest.raises(ValueError, match="k must be"):
        fit_whitening(accumulate(x), k=9)
    with pytest.raises(ValueError, match="k must be"):
        fit_whitening(accumulate(x), k=0)


def test_beta_gamma_zero_is_a_rotation_preserving_cosine():
    x = correlated()
    transform = fit_whitening(accumulate(x), beta=0.0, gamma=0.0)
    np.testing.assert_array_equal(transform.mu, np.zeros(8, dtype=np.float32))
    kernel = transform.kernel.astype(np.float64)
    np.testing.assert_allclose(kernel.T @ kernel, np.eye(8), atol=1e-5)
    y = apply_whitening(x[:50], transform)
    np.testing.assert_allclose(cosines(y), cosines(x[:50]), atol=1e-5)


def test_input_not_mutated_and_shape_checked():
    x = correlated(n=100)
    before = x.copy()
    transform = fit_whitening(accumulate(x), k=4)
    apply_whitening(x, transform)
    np.testing.assert_array_equal(x, before)
    with pytest.raises(ValueError, match=r"\(n, 8\)"):
        apply_whitening(x[:, :7], transform)
    with pytest.raises(ValueError, match=r"\(n, 8\)"):
        MomentAccumulator(8).update(x[:, :7])
    with pytest.raises(ValueError, match="no vectors"):
        MomentAccumulator(8).mean()
    with pytest.raises(ValueError, match="positive"):
        MomentAccumulator(0)


def test_save_load_round_trip(tmp_path):
    x = correlated()
    transform = fit_whitening(accumulate(x), k=5, beta=0.5, gamma=0.7)
    save_whitening(tmp_path / "w.npz", transform)
    loaded = load_whitening(tmp_path / "w.npz")
    assert isinstance(loaded, WhiteningTransform)
    np.testing.assert_array_equal(loaded.mu, transform.mu)
    np.testing.assert_array_equal(loaded.kernel, transform.kernel)
    with open(tmp_path / "bad.npz", "wb") as handle:
        np.savez(handle, mu=np.zeros(3, np.float32), kernel=np.zeros((4, 2), np.float32))
    with pytest.raises(ValueError, match="bad whitening arrays"):
        load_whitening(tmp_path / "bad.npz")
