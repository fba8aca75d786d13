"""WMD and WRD between two sentences' token vectors (docs/METHODS.md 4), solved exactly by POT.

Both are earth mover's distances ``min sum_ij gamma_ij d_ij`` with marginals ``p`` and ``q``:

- WMD: uniform mass ``p_i = 1/n``, Euclidean cost ``d_ij = ||w_i - w'_j||``; similarity is
  ``-WMD``. (Su's reference code divides the cost by sqrt(d); we keep the plain Euclidean
  distance of Kusner et al.: it only rescales every score by the same constant.)
- WRD: mass proportional to token-vector norms, cosine cost ``d_ij = 1 - cos(w_i, w'_j)``;
  WRD lies in [0, 2] and similarity is ``1 - WRD``.

The centroid lower bounds are cheap (O((n + n') d)) and never exceed the exact distance, so
they can prune rerank candidates that cannot reach the top k (see `app.rerank.rerank`).
"""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple

import numpy as np
import ot
from scipy.spatial.distance import cdist

from app.enums import parse_enum


class RerankMethod(StrEnum):
    WMD = "wmd"
    WRD = "wrd"

    @classmethod
    def parse(cls, value: str | RerankMethod) -> RerankMethod:
        return parse_enum(cls, value, "rerank method")


def check_tokens(name: str, x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"{name} must be a non-empty (n_tokens, dim) array, got shape {x.shape}")
    if not np.issubdtype(x.dtype, np.floating):
        raise ValueError(f"{name} must be a float array, got {x.dtype}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} contains NaN or inf")
    return x.astype(np.float64, copy=False)


def _check_pair(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a64, b64 = check_tokens("a", a), check_tokens("b", b)
    if a64.shape[1] != b64.shape[1]:
        raise ValueError(f"token dimensions differ: a has {a64.shape[1]}, b has {b64.shape[1]}")
    return a64, b64


class Prepared(NamedTuple):
    """One sentence's token vectors, validated once and ready for repeated OT distances.

    vectors : (n, d) float64
    unit : (n, d) float64 rows scaled to unit norm (zero rows stay zero)
    wrd_weights : (n,) float64 norm-proportional mass summing to 1, or None if all zero
    """

    vectors: np.ndarray
    unit: np.ndarray
    wrd_weights: np.ndarray | None


def prepare(x: np.ndarray, name: str = "x") -> Prepared:
    """Validate (n, d) token vectors once; see `Prepared`."""
    x64 = check_tokens(name, x)
    norms = np.linalg.norm(x64, axis=1)
    unit = np.divide(x64, norms[:, None], out=np.zeros_like(x64), where=norms[:, None] > 0)
    total = norms.sum()
    return Prepared(x64, unit, norms / total if total > 0 else None)


def _same_dim(a: Prepared, b: Prepared) -> None:
    if a.vectors.shape[1] != b.vectors.shape[1]:
        raise ValueError(
            f"token dimensions differ: a has {a.vectors.shape[1]}, b has {b.vectors.shape[1]}"
        )


def _emd(p: np.ndarray, q: np.ndarray, cost: np.ndarray) -> float:
    # marginals are normalised here, so POT's marginal check (half the call's time) is skipped
    return float(ot.emd2(p, q, np.ascontiguousarray(cost), check_marginals=False))


def wmd_prepared(a: Prepared, b: Prepared) -> float:
    """`wmd_distance` on prepared sentences (the rerank inner loop)."""
    _same_dim(a, b)
    n, m = len(a.vectors), len(b.vectors)
    cost = cdist(a.vectors, b.vectors, metric="euclidean")
    return _emd(np.full(n, 1.0 / n), np.full(m, 1.0 / m), cost)


def wrd_prepared(a: Prepared, b: Prepared) -> float:
    """`wrd_distance` on prepared sentences (the rerank inner loop)."""
    _same_dim(a, b)
    if a.wrd_weights is None or b.wrd_weights is None:
        raise ValueError("every token vector of a sentence is zero; WRD weights are undefined")
    return _emd(a.wrd_weights, b.wrd_weights, np.clip(1.0 - a.unit @ b.unit.T, 0.0, 2.0))


def wmd_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Word Mover's Distance with uniform weights and Euclidean cost.

    Parameters
    ----------
    a : (n, d) float array
        Token vectors of the first sentence.
    b : (m, d) float array
        Token vectors of the second sentence.

    Returns
    -------
    float
        WMD >= 0; 0 when both sentences have the same multiset of token vectors.
    """
    return wmd_prepared(prepare(a, "a"), prepare(b, "b"))


def wrd_cost(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(n, m) float64 cosine-distance matrix ``1 - cos(a_i, b_j)``, clipped to [0, 2].

    Zero vectors count as orthogonal to everything (cost 1); they carry no WRD mass anyway.
    """
    pa, pb = prepare(a, "a"), prepare(b, "b")
    _same_dim(pa, pb)
    return np.clip(1.0 - pa.unit @ pb.unit.T, 0.0, 2.0)


def wrd_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Word Rotator's Distance: norm-proportional weights, cosine cost.

    Parameters
    ----------
    a : (n, d) float array
        Token vectors of the first sentence (not all zero).
    b : (m, d) float array
        Token vectors of the second sentence (not all zero).

    Returns
    -------
    float
        WRD in [0, 2]; invariant to scaling either sentence's vectors by one positive factor.
    """
    return wrd_prepared(prepare(a, "a"), prepare(b, "b"))


def wmd_centroid(x: np.ndarray) -> np.ndarray:
    """(d,) float64 mean token vector: the WMD lower-bound summary of a sentence."""
    return check_tokens("x", x).mean(axis=0)


def wrd_centroid(x: np.ndarray) -> np.ndarray:
    """(d,) float64 ``sum_i w_i / sum_i ||w_i||``: the WRD lower-bound summary of a sentence.
    (Equal to the WRD-weighted mean of the unit vectors.)"""
    p = prepare(x)
    if p.wrd_weights is None:
        raise ValueError("x: every token vector is zero; WRD weights are undefined")
    return p.wrd_weights @ p.unit


def wmd_lower_bound(a: np.ndarray, b: np.ndarray) -> float:
    """Word centroid distance ``||mean(a) - mean(b)|| <= WMD(a, b)``. Shapes as `wmd_distance`."""
    a64, b64 = _check_pair(a, b)
    return float(np.linalg.norm(wmd_centroid(a64) - wmd_centroid(b64)))


def wrd_lower_bound(a: np.ndarray, b: np.ndarray) -> float:
    """Su's bound ``||sum a/Z - sum b/Z'||^2 / 2 <= WRD(a, b)``. Shapes as `wrd_distance`.

    Why it holds: with unit vectors ``u``, ``1 - cos = ||u_i - v_j||^2 / 2`` and Jensen gives
    ``sum gamma ||u_i - v_j||^2 >= ||sum gamma (u_i - v_j)||^2 = ||u_bar - v_bar||^2``.
    """
    a64, b64 = _check_pair(a, b)
    diff = wrd_centroid(a64) - wrd_centroid(b64)
    return float(diff @ diff) / 2.0


def distance(method: RerankMethod, a: np.ndarray | Prepared, b: np.ndarray | Prepared) -> float:
    """WMD or WRD between two (n, d) / (m, d) token-vector arrays (or `Prepared` ones)."""
    pa = a if isinstance(a, Prepared) else prepare(a, "a")
    pb = b if isinstance(b, Prepared) else prepare(b, "b")
    return wmd_prepared(pa, pb) if method is RerankMethod.WMD else wrd_prepared(pa, pb)


def to_similarity(method: RerankMethod, dist: float | np.ndarray) -> float | np.ndarray:
    """Similarity from a distance: ``-WMD`` or ``1 - WRD`` (higher is more similar)."""
    return -dist if method is RerankMethod.WMD else 1.0 - dist


def similarity(method: RerankMethod, a: np.ndarray, b: np.ndarray) -> float:
    """Rerank similarity of two sentences' token vectors: ``-WMD`` or ``1 - WRD``."""
    return float(to_similarity(method, distance(method, a, b)))
