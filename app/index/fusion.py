"""Reciprocal-rank fusion (Cormack, Clarke & Buettcher, SIGIR 2009) of ranked id lists."""

from __future__ import annotations

from collections.abc import Sequence

RRF_K = 60  # the paper's constant: damps the head so one list's first place cannot dominate


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[int]], k: int = RRF_K
) -> list[tuple[int, float]]:
    """`(id, score)` best first, score(d) = sum over the lists holding d of 1 / (k + rank),
    rank counted from 1. Ties keep the order of first appearance (earlier lists first).

    rankings : lists of distinct int ids, each best first (lengths may differ, may be empty)
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    scores: dict[int, float] = {}
    for ranking in rankings:
        if len(set(ranking)) != len(ranking):
            raise ValueError("each ranking must hold distinct ids")
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    order = sorted(enumerate(scores.items()), key=lambda e: (-e[1][1], e[0]))
    return [item for _, item in order]
