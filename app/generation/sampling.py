"""Pure sampling math for stochastic decoding (docs/METHODS.md 3.2 `random_sample`, section 5).

Every function takes and returns new arrays (inputs are never mutated). Rows are
independent sequences; columns are vocabulary entries.
"""

from __future__ import annotations

import numpy as np


def _check_2d(name: str, x: np.ndarray) -> None:
    if x.ndim != 2 or x.shape[1] == 0:
        raise ValueError(f"{name} must have shape (batch, vocab) with vocab > 0, got {x.shape}")


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Row-wise softmax of logits / temperature.

    Parameters
    ----------
    logits : (B, V) float, -inf allowed (banned entries); each row needs one finite entry.
    temperature : float > 0.

    Returns
    -------
    (B, V) float64 probabilities, rows sum to 1.
    """
    _check_2d("logits", logits)
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    scaled = np.asarray(logits, dtype=np.float64) / temperature
    top = scaled.max(axis=1, keepdims=True)
    if not np.isfinite(top).all():
        raise ValueError("every row of logits needs at least one finite entry")
    e = np.exp(scaled - top)
    return e / e.sum(axis=1, keepdims=True)


def top_k_filter(probs: np.ndarray, k: int) -> np.ndarray:
    """Keep the k most probable entries of each row and renormalise.

    probs : (B, V) float, rows sum to 1; k : 1 <= k (k >= V keeps everything).
    Returns (B, V) float64. Ties at the k-th value are broken by index (argpartition).
    """
    _check_2d("probs", probs)
    if k < 1:
        raise ValueError(f"top_k must be >= 1, got {k}")
    probs = np.asarray(probs, dtype=np.float64)
    if k >= probs.shape[1]:
        return probs.copy()
    keep = np.argpartition(-probs, k - 1, axis=1)[:, :k]
    out = np.zeros_like(probs)
    rows = np.arange(probs.shape[0])[:, None]
    out[rows, keep] = probs[rows, keep]
    return out / out.sum(axis=1, keepdims=True)


def top_p_filter(probs: np.ndarray, p: float) -> np.ndarray:
    """Nucleus filter: keep the smallest most-probable prefix whose mass exceeds p.

    The token that crosses the threshold is kept, so at least one token always survives.
    (bert4keras stops once the mass *reaches* p; the two differ only at exact equality.) probs : (B, V) float, rows sum to 1; 0 < p <= 1.
    Returns (B, V) float64 renormalised.
    """
    _check_2d("probs", probs)
    if not 0 < p <= 1:
        raise ValueError(f"top_p must be in (0, 1], got {p}")
    probs = np.asarray(probs, dtype=np.float64)
    order = np.argsort(-probs, axis=1, kind="stable")
    sorted_p = np.take_along_axis(probs, order, axis=1)
    before = np.cumsum(sorted_p, axis=1) - sorted_p  # mass strictly before each token
    keep_sorted = before <= p  # "exceeds p" (issue 4); bert4keras stops at "reaches"
    keep_sorted[:, 0] = True
    keep = np.zeros_like(keep_sorted)
    np.put_along_axis(keep, order, keep_sorted, axis=1)
    out = np.where(keep, probs, 0.0)
    return out / out.sum(axis=1, keepdims=True)


def sample(probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One draw per row by inverse CDF. probs : (B, V), rows sum to 1. Returns (B,) int64."""
    _check_2d("probs", probs)
    cdf = np.cumsum(np.asarray(probs, dtype=np.float64), axis=1)
    u = rng.random(probs.shape[0])[:, None] * cdf[:, -1:]
    idx = (cdf <= u).sum(axis=1)
    # never land on a zero-probability entry past the last positive one (float round-off)
    last = probs.shape[1] - 1 - np.argmax(np.asarray(probs)[:, ::-1] > 0, axis=1)
    return np.minimum(idx, last).astype(np.int64)


def filter_probs(
    logits: np.ndarray, *, temperature: float, top_k: int | None, top_p: float | None
) -> np.ndarray:
    """softmax(logits / temperature), then top-k, then top-p (bert4keras order). (B, V) -> (B, V)."""
    probs = softmax(logits, temperature)
    if top_k is not None:
        probs = top_k_filter(probs, top_k)
    if top_p is not None:
        probs = top_p_filter(probs, top_p)
    return probs


def sample_logits(
    logits: np.ndarray,
    rng: np.random.Generator,
    *,
    temperature: float,
    top_k: int | None,
    top_p: float | None,
) -> np.ndarray:
    """`sample(filter_probs(logits, ...), rng)`, computed on the top-k columns only.

    With top-k the kept tokens are the k largest logits (softmax is monotone), so the
    softmax, the top-p filter and the inverse-CDF draw run on (B, k) instead of (B, V);
    the k columns are put back in vocabulary order, so the same `rng` state draws the same
    token as the full computation (up to float round-off in the normalising sums).

    logits : (B, V) float, -inf for banned entries. Returns (B,) int64 vocabulary ids.
    """
    _check_2d("logits", logits)
    if top_k is None or top_k >= logits.shape[1]:
        return sample(filter_probs(logits, temperature=temperature, top_k=top_k, top_p=top_p), rng)
    if top_k < 1:
        raise ValueError(f"top_k must be >= 1, got {top_k}")
    cols = np.sort(np.argpartition(-logits, top_k - 1, axis=1)[:, :top_k], axis=1)
    kept = np.take_along_axis(np.asarray(logits), cols, axis=1)
    probs = softmax(kept, temperature)
    if top_p is not None:
        probs = top_p_filter(probs, top_p)
    return np.take_along_axis(cols, sample(probs, rng)[:, None], axis=1)[:, 0].astype(np.int64)
