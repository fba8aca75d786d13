"""plan_runs: least padded tokens + per-run overhead, checked against brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from app.engines.run_plan import padded_tokens, plan_runs


def brute_force(widths, max_batch_size, max_batch_tokens, overhead) -> float:
    """Least cost over every way of cutting the sorted widths into contiguous runs."""
    n = len(widths)
    best = float("inf")
    for cuts in itertools.product([False, True], repeat=n - 1):
        bounds = [0, *(i + 1 for i, c in enumerate(cuts) if c), n]
        runs = list(itertools.pairwise(bounds))
        if any(
            b - a > max_batch_size or (b - a > 1 and (b - a) * widths[b - 1] > max_batch_tokens)
            for a, b in runs
        ):
            continue
        best = min(best, padded_tokens(widths, runs) + overhead * len(runs))
    return best


def check_plan(widths, runs, max_batch_size, max_batch_tokens) -> None:
    assert runs[0][0] == 0 and runs[-1][1] == len(widths)
    assert all(a < b for a, b in runs) and all(r[1] == s[0] for r, s in itertools.pairwise(runs))
    for a, b in runs:
        assert b - a <= max_batch_size
        assert b - a == 1 or (b - a) * widths[b - 1] <= max_batch_tokens


@pytest.mark.parametrize("seed", range(40))
def test_matches_brute_force_on_small_windows(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 11))
    widths = sorted(int(w) for w in rng.choice([8, 12, 16, 24, 32, 64], n))
    max_batch_size = int(rng.integers(1, 8))
    max_batch_tokens = int(rng.choice([16, 64, 128, 10_000]))
    overhead = float(rng.choice([0.0, 5.0, 40.0, 300.0]))
    runs = plan_runs(
        widths,
        max_batch_size=max_batch_size,
        max_batch_tokens=max_batch_tokens,
        run_overhead_tokens=overhead,
    )
    check_plan(widths, runs, max_batch_size, max_batch_tokens)
    cost = padded_tokens(widths, runs) + overhead * len(runs)
    np.testing.assert_allclose(
        cost, brute_force(widths, max_batch_size, max_batch_tokens, overhead), rtol=0, atol=1e-9
    )


def test_overhead_trades_padding_for_fewer_runs():
    widths = [16] * 30 + [64] * 2
    kw = {"max_batch_size": 64, "max_batch_tokens": 10_000}
    # cheap runs: the two long texts run apart, nothing is padded
    assert plan_runs(widths, run_overhead_tokens=10, **kw) == [(0, 30), (30, 32)]
    # a run dearer than padding 30 texts by 48 tokens: one run
    assert plan_runs(widths, run_overhead_tokens=2000, **kw) == [(0, 32)]


def test_fixed_size_runs_are_beaten_where_lengths_spread():
    widths = sorted([12] * 50 + [16] * 40 + [24] * 20 + [48] * 8 + [64] * 2)
    runs = plan_runs(widths, max_batch_size=64, max_batch_tokens=8192, run_overhead_tokens=64)
    fixed = [(0, 64), (64, 120)]
    assert padded_tokens(widths, runs) + 64 * len(runs) < padded_tokens(widths, fixed) + 128
    assert sum(widths) / padded_tokens(widths, runs) >= 0.9


def test_a_text_wider_than_the_budget_runs_alone_and_ties_keep_fewer_runs():
    kw = {"max_batch_size": 8, "max_batch_tokens": 100}
    assert plan_runs([10, 10, 200], run_overhead_tokens=0, **kw) == [(0, 2), (2, 3)]
    assert plan_runs([16, 16, 16], run_overhead_tokens=0, **kw) == [(0, 3)]
    assert plan_runs([], run_overhead_tokens=5, **kw) == []


@pytest.mark.parametrize(
    ("widths", "kw", "match"),
    [
        ([16, 8], {}, "sorted"),
        ([0, 8], {}, ">= 1"),
        ([[8]], {}, "1-D"),
        ([8], {"max_batch_size": 0}, "max_batch_size"),
        ([8], {"run_overhead_tokens": -1}, "run_overhead_tokens"),
    ],
)
def test_bad_arguments_are_rejected(widths, kw, match):
    args = {"max_batch_size": 4, "max_batch_tokens": 64, "run_overhead_tokens": 1.0, **kw}
    with pytest.raises(ValueError, match=match):
        plan_runs(widths, **args)
