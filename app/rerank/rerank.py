"""Rerank candidate sentences against a query by WMD or WRD, optionally pruned by lower bounds.

Pruning (Kusner et al. 2015, "prefetch and prune"): visit candidates in increasing order of
their centroid lower bound; once the k-th best exact distance is no larger than the next
candidate's bound, no remaining candidate can enter the top k, so their exact EMD is skipped.
The top k returned is the same as exhaustive reranking (up to ties).
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from app.rerank.distances import (
    RerankMethod,
    distance,
    prepare,
    to_similarity,
    wmd_centroid,
    wrd_centroid,
)


class RerankResult(NamedTuple):
    """Candidates ordered best first.

    indices : (k,) int64 positions into the candidate list.
    scores : (k,) float64 similarities (``-WMD`` or ``1 - WRD``), non-increasing.
    n_exact : number of exact EMD problems solved (< len(candidates) when pruning helped).
    """

    indices: np.ndarray
    scores: np.ndarray
    n_exact: int


def lower_bounds(
    method: RerankMethod, query: np.ndarray, candidates: Sequence[np.ndarray]
) -> np.ndarray:
    """(n_candidates,) float64 lower bounds of the distance from `query` to each candidate.

    Parameters
    ----------
    query : (n, d) float array
    candidates : sequence of (m_i, d) float arrays
    """
    centroid = wmd_centroid if method is RerankMethod.WMD else wrd_centroid
    if not candidates:
        return np.zeros(0, dtype=np.float64)
    q = centroid(query)
    cents = np.stack([centroid(c) for c in candidates])
    if cents.shape[1] != q.shape[0]:
        raise ValueError(f"candidate dimension {cents.shape[1]} != query dimension {q.shape[0]}")
    diff = cents - q
    if method is RerankMethod.WMD:
        return np.linalg.norm(diff, axis=1)
    return np.einsum("ij,ij->i", diff, diff) / 2.0


def rerank(
    method: RerankMethod | str,
    query: np.ndarray,
    candidates: Sequence[np.ndarray],
    top_k: int | None = None,
    *,
    prune: bool = False,
) -> RerankResult:
    """Order candidates by WMD/WRD similarity to the query.

    Parameters
    ----------
    method : RerankMethod or "wmd" | "wrd"
    query : (n, d) float array
        The query's token vectors.
    candidates : sequence of (m_i, d) float arrays
        Each candidate's token vectors.
    top_k : int, optional
        Keep the best `top_k` (default: all candidates).
    prune : bool
        Skip exact distances that the centroid lower bound proves cannot reach the top k.

    Returns
    -------
    RerankResult
        Ties are broken by the candidate's position (stable).
    """
    method = RerankMethod.parse(method)
    query_p = prepare(query, "query")
    n = len(candidates)
    k = n if top_k is None else top_k
    if k < 0:
        raise ValueError(f"top_k must be >= 0, got {top_k}")
    k = min(k, n)
    if k == 0:
        empty = np.zeros(0, dtype=np.float64)
        return RerankResult(np.zeros(0, dtype=np.int64), empty, 0)
    if prune and k < n:
        bounds = lower_bounds(method, query, candidates)
        order = np.argsort(bounds, kind="stable")
    else:
        bounds, order = None, np.arange(n)
    # max-heap of the k best (smallest) distances: entries (-dist, -index)
    heap: list[tuple[float, int]] = []
    n_exact = 0
    for idx in order:
        idx = int(idx)
        if bounds is not None and len(heap) == k and -heap[0][0] <= bounds[idx]:
            break
        d = distance(method, query_p, prepare(candidates[idx], f"candidates[{idx}]"))
        n_exact += 1
        item = (-d, -idx)
        if len(heap) < k:
            heapq.heappush(heap, item)
        elif item > heap[0]:
            heapq.heapreplace(heap, item)
    best = sorted(((-nd, -ni) for nd, ni in heap))
    dists = np.array([d for d, _ in best], dtype=np.float64)
    indices = np.array([i for _, i in best], dtype=np.int64)
    return RerankResult(indices, np.asarray(to_similarity(method, dists)), n_exact)
