"""BERT-whitening (docs/METHODS.md 1.1): streaming moments, kernel fit, transform. Pure numpy.

    mu = mean(x);  Sigma = cov(x) computed around beta*mu;  Sigma = U diag(s) U^T
    W = U diag(s ** (-gamma / 2));  W_k = W[:, :k];  y = (x - beta*mu) @ W_k

beta = gamma = 1 is the original whitening; beta = gamma = 0 is a pure rotation, so
truncating to k gives near-lossless compression for supervised encoders.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np


class WhiteningTransform(NamedTuple):
    mu: np.ndarray  # (H,) float32, already multiplied by beta
    kernel: np.ndarray  # (H, k) float32


class MomentAccumulator:
    """Accumulates sum(x) and sum(x^T x) in float64 so a corpus is fitted in O(H^2) memory."""

    def __init__(self, dim: int):
        if dim <= 0:
            raise ValueError(f"dim must be positive, got {dim}")
        self.dim = dim
        self.count = 0
        self._sum = np.zeros(dim, dtype=np.float64)
        self._outer = np.zeros((dim, dim), dtype=np.float64)

    def update(self, batch: np.ndarray) -> None:
        """batch: (n, H) float. Adds n vectors."""
        if batch.ndim != 2 or batch.shape[1] != self.dim:
            raise ValueError(f"batch must be (n, {self.dim}), got {batch.shape}")
        x = batch.astype(np.float64)
        self.count += x.shape[0]
        self._sum += x.sum(axis=0)
        self._outer += x.T @ x

    def mean(self) -> np.ndarray:
        """(H,) float64."""
        if self.count == 0:
            raise ValueError("no vectors accumulated")
        return self._sum / self.count

    def covariance(self, center: np.ndarray) -> np.ndarray:
        """Second moment around `center` (H,): E[(x-c)^T (x-c)], (H, H) float64, 1/N normaliser."""
        m = self.mean()
        second = self._outer / self.count
        return second - np.outer(m, center) - np.outer(center, m) + np.outer(center, center)


def fit_whitening(
    acc: MomentAccumulator, k: int = -1, beta: float = 1.0, gamma: float = 1.0
) -> WhiteningTransform:
    """Kernel from accumulated moments. k = -1 keeps all H dims; 0 < k <= H truncates."""
    if k == 0 or k < -1 or k > acc.dim:
        raise ValueError(f"k must be -1 or in 1..{acc.dim}, got {k}")
    mu = beta * acc.mean()
    cov = acc.covariance(mu)
    u, s, _ = np.linalg.svd(cov)
    s = np.maximum(s, 1e-12)
    kernel = u * (s ** (-gamma / 2.0))[None, :]
    if k != -1:
        kernel = kernel[:, :k]
    return WhiteningTransform(mu.astype(np.float32), np.ascontiguousarray(kernel, dtype=np.float32))


def apply_whitening(vectors: np.ndarray, transform: WhiteningTransform) -> np.ndarray:
    """(N, H) -> (N, k) float32: (x - mu) @ kernel. Input is not modified."""
    mu, kernel = transform
    if vectors.ndim != 2 or vectors.shape[1] != mu.shape[0]:
        raise ValueError(f"vectors must be (n, {mu.shape[0]}), got {vectors.shape}")
    return ((vectors.astype(np.float32, copy=False) - mu) @ kernel).astype(np.float32, copy=False)


def save_whitening(path: Path, transform: WhiteningTransform) -> None:
    with open(path, "wb") as handle:
        np.savez(handle, mu=transform.mu, kernel=transform.kernel)


def load_whitening(path: Path) -> WhiteningTransform:
    with np.load(path) as data:
        mu, kernel = data["mu"].astype(np.float32), data["kernel"].astype(np.float32)
    if mu.ndim != 1 or kernel.ndim != 2 or kernel.shape[0] != mu.shape[0]:
        raise ValueError(f"bad whitening arrays: mu {mu.shape}, kernel {kernel.shape}")
    return WhiteningTransform(mu, kernel)
