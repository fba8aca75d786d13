"""Cutting a length-sorted window of queued texts into onnxruntime runs (pure function).

A run pads every text to the width of its longest one, so fixed-size runs over a sorted
window pad the short texts of a run to a long neighbour's width; one run per distinct
width pays the per-run overhead many times. `plan_runs` picks the cut points that
minimise their sum exactly, by dynamic programming over the sorted widths.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def plan_runs(
    widths: Sequence[int],
    *,
    max_batch_size: int,
    max_batch_tokens: int,
    run_overhead_tokens: float,
) -> list[tuple[int, int]]:
    """Cut sorted texts into contiguous runs of least total cost.

    Cost model: a run of the texts ``i .. j-1`` costs ``(j - i) * widths[j-1] +
    run_overhead_tokens``, i.e. its padded tokens (every text padded to the run's widest,
    which is its last since ``widths`` is sorted) plus a fixed per-run cost expressed in
    padded-token equivalents (time of an empty run / time per padded token, measured).
    A run holds at most ``max_batch_size`` texts and, unless it is a single text, at most
    ``max_batch_tokens`` padded tokens; a text wider than the budget runs alone.

    Parameters
    ----------
    widths : (n,) ints, non-decreasing, >= 1
        Padded width (tokens) of each queued text, in the order they will be run.
    max_batch_size, max_batch_tokens : int, >= 1
    run_overhead_tokens : float, >= 0

    Returns
    -------
    list of (start, stop) half-open index ranges covering ``0 .. n`` in order; empty for
    ``n == 0``. Among plans of equal cost the one with fewer runs wins. O(n *
    max_batch_size) time.
    """
    w = np.asarray(widths, dtype=np.int64)
    if w.ndim != 1:
        raise ValueError(f"widths must be 1-D, got shape {w.shape}")
    if max_batch_size < 1 or max_batch_tokens < 1 or run_overhead_tokens < 0:
        raise ValueError(
            "expected max_batch_size >= 1, max_batch_tokens >= 1, run_overhead_tokens >= 0; "
            f"got {max_batch_size}, {max_batch_tokens}, {run_overhead_tokens}"
        )
    n = len(w)
    if n and (w.min() < 1 or np.any(np.diff(w) < 0)):
        raise ValueError("widths must be >= 1 and sorted in non-decreasing order")
    best = np.zeros(n + 1, dtype=np.float64)  # best[k]: least cost of the first k texts
    size = np.zeros(n + 1, dtype=np.int64)  # size[k]: texts in the last run of that plan
    for k in range(1, n + 1):
        width = int(w[k - 1])
        longest = max(1, min(max_batch_size, k, max_batch_tokens // width))
        sizes = np.arange(longest, 0, -1)  # largest first: ties keep fewer runs
        costs = best[k - sizes] + sizes * width + run_overhead_tokens
        pick = int(np.argmin(costs))
        best[k], size[k] = costs[pick], sizes[pick]
    runs: list[tuple[int, int]] = []
    k = n
    while k > 0:
        runs.append((k - int(size[k]), k))
        k -= int(size[k])
    return runs[::-1]


def padded_tokens(widths: Sequence[int], runs: Sequence[tuple[int, int]]) -> int:
    """Padded tokens of a plan: sum over runs of (texts x widest). ``widths`` (n,) sorted."""
    return sum((stop - start) * int(widths[stop - 1]) for start, stop in runs)
