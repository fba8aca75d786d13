"""Dynamic batching on a dedicated thread.

Callers submit a request's items (e.g. one tokenized text each); the worker takes queued
items up to `max_batch_size` / `max_batch_tokens`, waiting at most `max_wait_ms` past the
oldest item's arrival for more to come (with `busy_wait_ms`, that wait is renewed while
items keep arriving, up to `busy_wait_ms` past the oldest one), sorts them by length,
cuts them into runs whose padded size fits the token budget (`run_plan`: the cuts that
minimise padded tokens plus a per-run overhead; or fixed-size runs), and runs each.
Guarantees:
- the queue is bounded (counted in items): a full queue raises `Overloaded` at once, and
  so does a request that would wait longer than its wait limit by the measured pace
  (queued cost x recent seconds per unit of cost), instead of queueing to time out later;
- every failure of a run reaches every request that had an item in it;
- every wait has a timeout (`DeadlineExceeded`), and a request that timed out or was
  cancelled is skipped instead of computed;
- `stop()` drains what is queued, then fails whatever is left with `NotReady`;
  `stop_all()` stops several batchers against one shared deadline.
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from app.engines.run_plan import plan_runs
from app.errors import DeadlineExceeded, InferenceFailed, NotReady, Overloaded, SimserveError
from app.settings import BatcherSettings

log = logging.getLogger(__name__)

Item = TypeVar("Item")
Result = TypeVar("Result")


@dataclass
class _Ticket:
    """One submitted request: a future for its whole result list."""

    size: int
    future: cf.Future = field(default_factory=cf.Future)
    results: list = field(default_factory=list)
    remaining: int = 0

    def __post_init__(self) -> None:
        self.results = [None] * self.size
        self.remaining = self.size

    @property
    def abandoned(self) -> bool:
        return self.future.done()  # cancelled, timed out, or already failed


@dataclass
class _Entry:
    item: object
    cost: int  # padded width: what the item costs in a run
    tokens: int  # real tokens, for the padding-efficiency metrics
    ticket: _Ticket
    index: int
    enqueued: float


@dataclass(frozen=True)
class BatchStats:
    size: int
    padded_tokens: int  # size x widest cost in the run
    real_tokens: int  # sum of the items' `tokens` (their cost when none was given)
    queue_wait_s: float
    run_s: float


def _settle(future: cf.Future, *, result=None, error: BaseException | None = None) -> None:
    """Set a future's outcome unless it was cancelled meanwhile."""
    try:
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)
    except cf.InvalidStateError:
        pass


class DynamicBatcher(Generic[Item, Result]):
    def __init__(
        self,
        name: str,
        process: Callable[[list[Item]], list[Result]],
        cost: Callable[[Item], int],
        settings: BatcherSettings,
        on_batch: Callable[[BatchStats], None] | None = None,
        tokens: Callable[[Item], int] | None = None,
    ):
        self.name = name
        self._process = process
        self._cost = cost
        self._tokens = tokens or cost
        self._settings = settings
        self._on_batch = on_batch
        self._cond = threading.Condition()
        self._queue: deque[_Entry] = deque()
        self._pending_cost = 0  # queued, or taken and not yet computed
        # decayed sums of run seconds and of the cost they computed: pace = seconds per cost,
        # weighted towards big runs (small ones are dominated by per-run overhead)
        self._run_s = 0.0
        self._run_cost = 0.0
        self._stopping = False
        self._thread = threading.Thread(target=self._loop, name=f"batcher-{name}", daemon=True)
        self._started = False

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        if not self._started:
            self._started = True
            self._thread.start()

    def request_stop(self) -> None:
        """Stop accepting new work; the worker keeps draining the queue. Does not wait."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop accepting, drain the queue within `timeout`, fail what is left."""
        self.request_stop()
        if self._started:
            self._thread.join(timeout)
        with self._cond:
            left = list(self._queue)
            self._queue.clear()
            self._pending_cost = 0
        for entry in left:
            _settle(entry.ticket.future, error=NotReady("server is shutting down"))

    @property
    def alive(self) -> bool:
        return self._thread.is_alive() and not self._stopping

    @property
    def depth(self) -> int:
        return len(self._queue)

    # -- submission ------------------------------------------------------------------------
    def expected_wait_s(self, extra_cost: int = 0) -> float | None:
        """Seconds the pending work (queued or running, plus `extra_cost`) should take at
        the measured pace; None before any run was measured."""
        if self._run_cost <= 0:
            return None
        return (self._pending_cost + extra_cost) * self._run_s / self._run_cost

    def submit_nowait(self, items: Sequence[Item], admit_within: float | None = None) -> cf.Future:
        """Queue items; returns a future of their results in order. Raises Overloaded/NotReady.

        With `admit_within` (seconds), a request that would wait longer than that behind
        the queued work is refused at once (429) rather than left to time out (504)."""
        if not items:
            raise ValueError("submit needs at least one item")
        ticket = _Ticket(len(items))
        now = time.monotonic()
        entries = [
            _Entry(it, self._cost(it), self._tokens(it), ticket, i, now)
            for i, it in enumerate(items)
        ]
        with self._cond:
            if self._stopping or not self._started:
                raise NotReady(f"model {self.name!r} is not accepting work")
            if len(self._queue) + len(entries) > self._settings.queue_size:
                raise Overloaded(
                    f"model {self.name!r} queue is full ({self._settings.queue_size} texts); retry later"
                )
            cost = sum(e.cost for e in entries)
            expected = self.expected_wait_s(cost)
            if self._queue and admit_within is not None and expected and expected > admit_within:
                raise Overloaded(
                    f"model {self.name!r} has about {expected:.1f} s of queued work, more "
                    f"than the {admit_within:g} s a request may wait; retry later",
                    retry_after=min(expected - admit_within, admit_within) + 1,
                )
            self._queue.extend(entries)
            self._pending_cost += cost
            self._cond.notify()
        return ticket.future

    async def submit(self, items: Sequence[Item], timeout: float | None = None) -> list[Result]:
        """Queue items and wait for their results, at most `timeout` seconds (settings default)."""
        limit = self._settings.request_timeout_s if timeout is None else timeout
        future = self.submit_nowait(items, admit_within=limit)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), limit)
        except TimeoutError:
            future.cancel()
            raise DeadlineExceeded(
                f"model {self.name!r} did not answer within {limit:g} s"
            ) from None

    # -- worker ----------------------------------------------------------------------------
    def _take(self) -> list[_Entry] | None:
        """Block until a batch is due; return it (None when stopping with an empty queue)."""
        s = self._settings
        with self._cond:
            while not self._queue:
                if self._stopping:
                    return None
                self._cond.wait()
            wait_s = s.max_wait_ms / 1000.0
            deadline = self._queue[0].enqueued + wait_s
            # growing wait: while texts keep arriving, wait another max_wait_ms, at most
            # busy_wait_ms past the oldest text's arrival (off at 0)
            cap = self._queue[0].enqueued + max(wait_s, s.busy_wait_ms / 1000.0)
            seen = len(self._queue)
            while not self._stopping:
                queued_cost = sum(e.cost for e in self._queue)
                if len(self._queue) >= s.max_batch_size or queued_cost >= s.max_batch_tokens:
                    break
                now = time.monotonic()
                if deadline - now <= 0:
                    if len(self._queue) <= seen or deadline >= cap:
                        break
                    seen = len(self._queue)
                    deadline = min(cap, now + wait_s)
                    continue
                self._cond.wait(deadline - now)
            # Take up to `sort_window` batches' worth at once: sorting that many by length
            # before cutting runs keeps a long request's runs from padding to its longest text.
            max_items = s.max_batch_size * s.sort_window
            max_cost = s.max_batch_tokens * s.sort_window
            taken: list[_Entry] = []
            budget = 0
            while self._queue and len(taken) < max_items:
                entry = self._queue[0]
                if entry.ticket.abandoned:
                    self._pending_cost -= self._queue.popleft().cost
                    continue
                if taken and budget + entry.cost > max_cost:
                    break
                taken.append(self._queue.popleft())  # pending until its run ends
                budget += entry.cost
            return taken

    def _runs(self, entries: list[_Entry]) -> list[list[_Entry]]:
        """Sort by cost and cut into runs of at most max_batch_size whose padded size
        (count x longest) fits the token budget: the least padded tokens plus per-run
        overhead (`run_plan.plan_runs`), or with `run_plan="fixed"` runs filled in order."""
        s = self._settings
        ordered = sorted(entries, key=lambda e: e.cost)
        if s.run_plan == "optimal":
            cuts = plan_runs(
                [e.cost for e in ordered],
                max_batch_size=s.max_batch_size,
                max_batch_tokens=s.max_batch_tokens,
                run_overhead_tokens=s.run_overhead_tokens,
            )
            return [ordered[start:stop] for start, stop in cuts]
        runs: list[list[_Entry]] = []
        current: list[_Entry] = []
        for entry in ordered:
            full = len(current) >= s.max_batch_size
            if current and (full or (len(current) + 1) * entry.cost > s.max_batch_tokens):
                runs.append(current)
                current = []
            current.append(entry)
        if current:
            runs.append(current)
        return runs

    def _run(self, run: list[_Entry]) -> None:
        try:
            self._compute(run)
        finally:
            with self._cond:
                self._pending_cost -= sum(e.cost for e in run)

    def _compute(self, run: list[_Entry]) -> None:
        run = [e for e in run if not e.ticket.abandoned]
        if not run:
            return
        started = time.monotonic()
        try:
            results = self._process([e.item for e in run])
            if len(results) != len(run):
                raise RuntimeError(f"process returned {len(results)} results for {len(run)} items")
        except Exception as exc:  # every waiter of this run must hear about it
            log.exception("batch of %d failed on model %s", len(run), self.name)
            error = (
                exc
                if isinstance(exc, SimserveError)
                else InferenceFailed(f"inference failed on model {self.name!r}")
            )
            for ticket in {id(e.ticket): e.ticket for e in run}.values():
                _settle(ticket.future, error=error)
            return
        run_s = time.monotonic() - started
        with self._cond:
            self._run_s = 0.9 * self._run_s + run_s
            self._run_cost = 0.9 * self._run_cost + sum(e.cost for e in run)
        for entry, result in zip(run, results, strict=True):
            ticket = entry.ticket
            ticket.results[entry.index] = result
            ticket.remaining -= 1
            if ticket.remaining == 0:
                _settle(ticket.future, result=ticket.results)
        if self._on_batch is not None:
            self._on_batch(
                BatchStats(
                    size=len(run),
                    padded_tokens=len(run) * max(e.cost for e in run),
                    real_tokens=sum(e.tokens for e in run),
                    queue_wait_s=started - min(e.enqueued for e in run),
                    run_s=time.monotonic() - started,
                )
            )

    def _loop(self) -> None:
        while True:
            entries = self._take()
            if entries is None:
                return
            for run in self._runs(entries):
                try:
                    self._run(run)
                except Exception:  # never let the worker die: waiters would hang
                    log.exception("batcher %s: unexpected error", self.name)


def stop_all(batchers: Sequence[DynamicBatcher], timeout: float) -> None:
    """Stop every batcher within one shared deadline of `timeout` seconds (not N x timeout).

    All stop accepting and drain in parallel first; each then gets what is left of the
    deadline to finish before its remaining queue is failed with `NotReady`."""
    deadline = time.monotonic() + timeout
    for batcher in batchers:
        batcher.request_stop()
    for batcher in batchers:
        batcher.stop(max(0.0, deadline - time.monotonic()))
