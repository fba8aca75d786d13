"""DynamicBatcher: size / token-budget / time limits, error fan-out, bounded queue, cancellation."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from app.engines.batcher import BatchStats, DynamicBatcher, stop_all
from app.errors import DeadlineExceeded, InferenceFailed, NotReady, Overloaded
from app.settings import BatcherSettings


class Recorder:
    """A process function that records each batch it ran and returns item * 10."""

    def __init__(self, fail_on: int | None = None, gate: threading.Event | None = None):
        self.batches: list[list[int]] = []
        self.fail_on = fail_on
        self.gate = gate

    def __call__(self, items: list[int]) -> list[int]:
        if self.gate is not None:
            self.gate.wait(5)
        self.batches.append(list(items))
        if self.fail_on is not None and self.fail_on in items:
            raise RuntimeError("boom")
        return [i * 10 for i in items]


def make(process, **kw) -> DynamicBatcher[int, int]:
    settings = BatcherSettings(**{"max_wait_ms": 20, **kw})
    b: DynamicBatcher[int, int] = DynamicBatcher("t", process, cost=lambda i: i, settings=settings)
    b.start()
    return b


def test_results_come_back_in_order_per_request():
    rec = Recorder()
    b = make(rec)
    try:
        assert b.submit_nowait([3, 1, 2]).result(5) == [30, 10, 20]
    finally:
        b.stop()


def test_concurrent_requests_are_grouped_into_one_batch():
    rec = Recorder()
    # a run dearer than any padding here, so one run is the cheapest cut of the window
    b = make(rec, max_wait_ms=200, max_batch_size=64, run_overhead_tokens=1000)
    try:
        futures = [b.submit_nowait([i]) for i in range(1, 9)]
        assert [f.result(5) for f in futures] == [[i * 10] for i in range(1, 9)]
        assert len(rec.batches) == 1  # all arrived inside the wait window
        assert rec.batches[0] == sorted(rec.batches[0])  # sorted by length (cost)
    finally:
        b.stop()


def test_max_batch_size_limits_each_run():
    rec = Recorder()
    b = make(rec, max_wait_ms=100, max_batch_size=3)
    try:
        assert b.submit_nowait([1] * 7).result(5) == [10] * 7
        assert max(len(x) for x in rec.batches) <= 3
        assert sum(len(x) for x in rec.batches) == 7
    finally:
        b.stop()


def test_token_budget_limits_padded_size_of_each_run():
    rec = Recorder()
    # costs are the items themselves; padded size = count * longest must stay <= 40
    b = make(rec, max_wait_ms=100, max_batch_tokens=40, max_batch_size=64)
    try:
        items = [2, 20, 3, 20, 5, 1, 10]
        assert b.submit_nowait(items).result(5) == [i * 10 for i in items]
        for run in rec.batches:
            assert len(run) * max(run) <= 40, rec.batches
    finally:
        b.stop()


def test_wait_is_bounded_by_max_wait():
    rec = Recorder()
    b = make(rec, max_wait_ms=200, max_batch_size=1000, max_batch_tokens=10**6)
    try:
        started = time.monotonic()
        fut = b.submit_nowait([1])
        # a lone item waits max_wait_ms for batch-mates, then runs: not for a full batch
        # (0.5 s of slack for a loaded machine, well below any other wait in the batcher)
        assert fut.result(0.2 + 0.5) == [10]
        assert time.monotonic() - started >= 0.19
    finally:
        b.stop()


def test_an_error_reaches_every_waiter_of_the_batch_and_worker_survives():
    gate = threading.Event()
    rec = Recorder(fail_on=2, gate=gate)
    b = make(rec, max_wait_ms=200)
    try:
        futures = [b.submit_nowait([i]) for i in (1, 2, 3)]
        gate.set()
        for f in futures:
            with pytest.raises(InferenceFailed):
                f.result(5)
        # the worker thread is still alive and serves the next request
        assert b.submit_nowait([4]).result(5) == [40]
        assert b.alive
    finally:
        b.stop()


def test_full_queue_raises_overloaded_immediately():
    gate = threading.Event()
    rec = Recorder(gate=gate)
    b = make(rec, max_wait_ms=0, queue_size=4, max_batch_size=1)
    try:
        first = b.submit_nowait([1])  # taken by the worker, blocked on the gate
        time.sleep(0.1)
        b.submit_nowait([1, 1, 1, 1])  # fills the queue
        with pytest.raises(Overloaded):
            b.submit_nowait([1])
        gate.set()
        assert first.result(5) == [10]
    finally:
        gate.set()
        b.stop()


def test_cancelled_request_is_skipped_not_computed():
    gate = threading.Event()
    rec = Recorder(gate=gate)
    b = make(rec, max_wait_ms=0, max_batch_size=1)
    try:
        blocker = b.submit_nowait([1])
        time.sleep(0.1)
        doomed = b.submit_nowait([7])
        assert doomed.cancel()
        gate.set()
        assert blocker.result(5) == [10]
        assert b.submit_nowait([2]).result(5) == [20]
        assert all(7 not in run for run in rec.batches)
    finally:
        gate.set()
        b.stop()


def test_async_submit_times_out_and_frees_the_work():
    gate = threading.Event()
    rec = Recorder(gate=gate)
    b = make(rec, max_wait_ms=0, max_batch_size=1)

    async def scenario():
        blocker = b.submit_nowait([1])
        await asyncio.sleep(0.05)
        with pytest.raises(DeadlineExceeded):
            await b.submit([9], timeout=0.05)
        gate.set()
        await asyncio.wrap_future(blocker)

    try:
        asyncio.run(scenario())
        assert b.submit_nowait([3]).result(5) == [30]
        assert all(9 not in run for run in rec.batches)
    finally:
        gate.set()
        b.stop()


def test_stop_drains_queued_work_and_then_refuses():
    rec = Recorder()
    b = make(rec, max_wait_ms=50)
    futures = [b.submit_nowait([i]) for i in range(1, 5)]
    b.stop(timeout=5)
    assert [f.result(0) for f in futures] == [[10], [20], [30], [40]]
    with pytest.raises(NotReady):
        b.submit_nowait([1])


def test_stop_all_shares_one_deadline_and_fails_what_is_left():
    gate = threading.Event()
    batchers = [make(Recorder(gate=gate), max_wait_ms=0, max_batch_size=1) for _ in range(3)]
    try:
        running = [b.submit_nowait([1]) for b in batchers]  # each worker blocked on the gate
        time.sleep(0.1)
        queued = [b.submit_nowait([2]) for b in batchers]
        started = time.monotonic()
        stop_all(batchers, timeout=0.5)
        elapsed = time.monotonic() - started
        # one shared deadline: ~0.5 s in all, where model by model would take 3 x 0.5 s
        assert 0.45 <= elapsed < 1.0, elapsed
        for f in queued:
            with pytest.raises(NotReady, match="shutting down"):
                f.result(0)
        for b in batchers:
            with pytest.raises(NotReady):
                b.submit_nowait([1])
    finally:
        gate.set()
    assert [f.result(5) for f in running] == [[10]] * 3


def test_stats_observer_sees_each_run():
    seen: list[BatchStats] = []
    settings = BatcherSettings(max_wait_ms=50)
    b: DynamicBatcher[int, int] = DynamicBatcher(
        "t", Recorder(), lambda i: i, settings, on_batch=seen.append
    )
    b.start()
    try:
        b.submit_nowait([4, 4]).result(5)
    finally:
        b.stop()
    assert seen and seen[0].size == 2 and seen[0].padded_tokens == 8
    assert seen[0].real_tokens == 8  # no `tokens` given: real = cost


def test_a_large_request_is_sorted_as_a_whole_before_cutting_runs():
    rec = Recorder()
    # 64 items, costs alternating long/short: sorted per 8-item chunk every run would hold
    # a long item; sorted as a whole, the short ones share runs of their own
    items = [50 if i % 2 else 5 for i in range(64)]
    b = make(rec, max_wait_ms=50, max_batch_size=8, max_batch_tokens=400, sort_window=8)
    try:
        assert b.submit_nowait(items).result(5) == [i * 10 for i in items]
    finally:
        b.stop()
    assert all(len(run) <= 8 for run in rec.batches)
    assert sum(1 for run in rec.batches if max(run) == 5) == 4  # 32 short items, 8 per run
    assert sum(len(run) * max(run) for run in rec.batches) == 32 * 5 + 32 * 50


def test_a_request_that_would_outwait_its_limit_is_refused_at_once():
    """Issue 12.12: admission counted texts only, so under mixed overload admitted requests
    queued for ~28 s and ended in 504. Now the queued cost at the measured pace decides."""

    def slow(items: list[int]) -> list[int]:
        time.sleep(0.02 * sum(items))  # 20 ms per unit of cost
        return [i * 10 for i in items]

    b = make(slow, max_wait_ms=0, max_batch_size=4, max_batch_tokens=16, sort_window=1)
    try:
        assert b.submit_nowait([1]).result(5) == [10]  # measures the pace
        backlog = [b.submit_nowait([4]) for _ in range(10)]  # 40 units: ~0.8 s of work
        started = time.monotonic()
        with pytest.raises(Overloaded, match="queued work") as refused:
            asyncio.run(b.submit([1], timeout=0.3))
        assert time.monotonic() - started < 0.2 and refused.value.retry_after >= 1
        assert b.expected_wait_s() > 0.3
        assert asyncio.run(b.submit([1], timeout=10)) == [10]  # a patient request waits
        assert [f.result(10) for f in backlog] == [[40]] * 10
    finally:
        b.stop()
    fresh = make(slow)
    try:
        assert fresh.expected_wait_s() is None  # nothing measured yet: only the count limit
    finally:
        fresh.stop()


@pytest.mark.parametrize(("run_plan", "runs"), [("optimal", 2), ("fixed", 1)])
def test_runs_are_cut_where_padding_costs_more_than_a_run(run_plan, runs):
    seen: list[BatchStats] = []
    settings = BatcherSettings(max_wait_ms=50, run_plan=run_plan, run_overhead_tokens=100)
    # cost = padded width; real tokens = width - 1 (e.g. a bucket one token wider)
    b: DynamicBatcher[int, int] = DynamicBatcher(
        "t", Recorder(), lambda i: i, settings, on_batch=seen.append, tokens=lambda i: i - 1
    )
    b.start()
    items = [16] * 20 + [64] * 2  # one run pads 20 texts by 48 tokens: 960 > 100
    try:
        assert b.submit_nowait(items).result(5) == [i * 10 for i in items]
    finally:
        b.stop()
    assert len(seen) == runs
    assert sum(s.real_tokens for s in seen) == sum(items) - len(items)
    padded = sum(s.padded_tokens for s in seen)
    assert padded == (20 * 16 + 2 * 64 if run_plan == "optimal" else 22 * 64)


def _trickle(b: DynamicBatcher[int, int], n: int, gap_s: float) -> list:
    """Submit n one-item requests gap_s apart; their futures."""
    futures = []
    for _ in range(n):
        futures.append(b.submit_nowait([1]))
        time.sleep(gap_s)
    return futures


@pytest.mark.parametrize("busy_wait_ms", [0, 5000])
def test_a_growing_wait_keeps_collecting_while_texts_arrive(busy_wait_ms):
    # items 60 ms apart, each inside the 150 ms window renewed by the one before: with the
    # growing wait on, one run takes all six; off, the first run leaves 150 ms after the
    # first item, before the last ones (at 180-300 ms) arrived
    rec = Recorder()
    b = make(
        rec,
        max_wait_ms=150,
        busy_wait_ms=busy_wait_ms,
        max_batch_size=64,
        run_overhead_tokens=1000,
    )
    try:
        futures = _trickle(b, 6, 0.06)
        assert [f.result(10) for f in futures] == [[10]] * 6
        if busy_wait_ms:
            assert len(rec.batches) == 1, rec.batches
        else:
            assert len(rec.batches) >= 2, rec.batches
    finally:
        b.stop()


def test_a_growing_wait_stops_at_its_cap():
    rec = Recorder()
    b = make(rec, max_wait_ms=100, busy_wait_ms=250, max_batch_size=64, run_overhead_tokens=1000)
    try:
        # items keep arriving every 40 ms for 0.8 s: the wait may not grow past 250 ms
        futures = _trickle(b, 20, 0.04)
        assert [f.result(10) for f in futures] == [[10]] * 20
        assert len(rec.batches) >= 2, rec.batches
    finally:
        b.stop()
