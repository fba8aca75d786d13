"""Pure ASGI middleware: the request guard (limits, deadline, disconnects, drain) and metrics.

`RequestGuardMiddleware`, for every HTTP request:
- while draining (SIGTERM received) answers 503 to new work at once; probes still answer;
- caps requests in progress (`lifecycle.max_concurrent_requests`): over it, 429 at once,
  before the body is read, so overload costs no memory;
- answers 401 to a request with a body but without a valid key (when auth is on) before
  reading the body (the app-wide auth dependency covers the rest, and scopes);
- reads the body up to `limits.max_body_bytes` (413 as JSON, by Content-Length up front or
  while streaming) within `lifecycle.body_timeout_s` (408, connection closed: a slow or
  stalled body cannot hold a request slot longer) and screens it as strict UTF-8 JSON
  (`app.api.jsoncheck`);
- runs the app in a task under `lifecycle.request_deadline_s` (504 `deadline_exceeded` if
  nothing was sent yet) and cancels it when the client disconnects, which cancels the
  batcher future so queued texts are skipped instead of computed;
- answers an exception the app did not handle with a JSON 500 and keeps the connection.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.auth import KeyRing, is_public, key_scope
from app.api.errors import error_response
from app.api.jsoncheck import json_body_problem
from app.errors import PayloadTooLarge, Unauthorized
from app.metrics import Metrics
from app.settings import Settings

log = logging.getLogger(__name__)

# Outcome recorded in the scope for requests that got no response (nginx's convention).
CLIENT_CLOSED = 499
OUTCOME_KEY = "simserve.outcome"


def is_probe(path: str) -> bool:
    """Liveness/readiness and metrics: never capped, never refused while draining."""
    return path.startswith("/health/") or path == "/metrics"


def is_draining(scope: Scope) -> bool:
    app = scope.get("app")
    state = getattr(app, "state", None)
    if state is None:
        return False
    if getattr(state, "draining", False):
        return True
    container = getattr(state, "container", None)
    return bool(container is not None and container.draining)


class _TooLarge(Exception):
    pass


class _Disconnected(Exception):
    pass


class RequestGuardMiddleware:
    def __init__(self, app: ASGIApp, settings: Settings, metrics: Metrics, keyring: KeyRing):
        self.app = app
        self.auth = settings.auth
        self.keyring = keyring
        self.max_bytes = settings.limits.max_body_bytes
        self.lifecycle = settings.lifecycle
        self.metrics = metrics
        self.in_progress = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        probe = is_probe(path)
        retry = self.lifecycle.retry_after_s
        if not probe and is_draining(scope):
            await self._answer(scope, send, 503, "not_ready", "server is draining", retry)
            return
        if not probe and self.in_progress >= self.lifecycle.max_concurrent_requests:
            msg = f"{self.in_progress} requests in progress; retry later"
            await self._answer(scope, send, 429, "overloaded", msg, retry)
            return
        if not probe:
            self.in_progress += 1
            self.metrics.in_progress.set(self.in_progress)
        try:
            await self._guarded(scope, receive, send, path)
        finally:
            if not probe:
                self.in_progress -= 1
                self.metrics.in_progress.set(self.in_progress)

    async def _guarded(self, scope: Scope, receive: Receive, send: Send, path: str) -> None:
        if self.keyring.enabled and _has_body(scope) and not is_public(path, self.auth):
            try:  # before the body: an unauthenticated client learns no body limit
                key_scope(_header(scope, b"authorization"), self.keyring)
            except Unauthorized as exc:
                await self._answer(scope, send, 401, exc.code, exc.message)
                return
        try:
            body = await asyncio.wait_for(
                self._read_body(scope, receive), self.lifecycle.body_timeout_s
            )
        except TimeoutError:
            msg = f"request body not received within {self.lifecycle.body_timeout_s:g} s"
            # the rest of the body may still arrive: the connection cannot be reused
            await self._answer(scope, send, 408, "request_timeout", msg, close=True)
            return
        except _TooLarge:
            msg = f"request body exceeds {self.max_bytes} bytes"
            await self._answer(scope, send, 413, PayloadTooLarge.code, msg)
            return
        except _Disconnected:
            scope[OUTCOME_KEY] = CLIENT_CLOSED
            return
        if body and _is_json(scope):
            problem = json_body_problem(body)
            if problem is not None:
                message, param = problem
                await self._answer(scope, send, 400, "invalid_json", message, param=param)
                return
        await self._run(scope, body, receive, send, path)

    async def _read_body(self, scope: Scope, receive: Receive) -> bytes:
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            raise _TooLarge
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _Disconnected
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > self.max_bytes:
                raise _TooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def _run(self, scope: Scope, body: bytes, receive: Receive, send: Send, path: str):
        started = False
        finished = False
        disconnected = asyncio.Event()
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            await disconnected.wait()
            return {"type": "http.disconnect"}

        async def tracked_send(message: Message) -> None:
            nonlocal started, finished
            if message["type"] == "http.response.start":
                started = True
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                finished = True
            await send(message)

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            disconnected.set()

        task = asyncio.ensure_future(self.app(scope, replay, tracked_send))
        watcher = asyncio.ensure_future(watch())
        try:
            done, _ = await asyncio.wait(
                {task, watcher},
                timeout=self.lifecycle.request_deadline_s,
                return_when=asyncio.FIRST_COMPLETED,
            )
            if task in done or (watcher in done and finished):
                await self._settle(task, scope, send, started, finished)
                return
            await _cancel(task)
            if watcher in done:
                scope[OUTCOME_KEY] = CLIENT_CLOSED
                self.metrics.client_disconnects.inc()
                return
            self.metrics.deadlines_exceeded.inc()
            if not started:
                msg = f"request did not finish within {self.lifecycle.request_deadline_s:g} s"
                await self._answer(scope, send, 504, "deadline_exceeded", msg)
            else:
                log.warning("deadline passed mid-response on %s; connection aborted", path)
        finally:
            if not task.done():
                await _cancel(task)
            watcher.cancel()

    async def _settle(
        self, task: asyncio.Future, scope: Scope, send: Send, started: bool, finished: bool
    ) -> None:
        """Answer an exception the app did not handle, here rather than in Starlette's outer
        `ServerErrorMiddleware`: that one re-raises after its 500, and uvicorn then closes
        the client's keep-alive connection. Only a response cut short must still abort."""
        try:
            await task
        except Exception:
            if started and not finished:
                raise
            log.exception("unhandled error on %s %s", scope.get("method"), scope["path"])
            if not started:
                await self._answer(scope, send, 500, "internal_error", "internal server error")

    @staticmethod
    async def _answer(
        scope: Scope,
        send: Send,
        status: int,
        code: str,
        message: str,
        retry_after: float | None = None,
        param: str | None = None,
        close: bool = False,
    ) -> None:
        headers = {"Connection": "close"} if close else None
        response = error_response(
            scope["path"], status, code, message, param, retry_after, headers=headers
        )
        await response(scope, _no_receive, send)


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}


async def _cancel(task: Awaitable) -> None:
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass
    except Exception:  # the app failed while being cancelled: nothing left to answer
        log.exception("request task failed during cancellation")


def _header(scope: Scope, name: bytes) -> str | None:
    value = dict(scope.get("headers") or []).get(name)
    return None if value is None else value.decode("latin-1")


def _has_body(scope: Scope) -> bool:
    headers = dict(scope.get("headers") or [])
    return b"transfer-encoding" in headers or headers.get(b"content-length", b"0") != b"0"


def _is_json(scope: Scope) -> bool:
    ctype = dict(scope.get("headers") or []).get(b"content-type", b"").lower()
    return not ctype or b"json" in ctype


class MetricsMiddleware:
    """Counts requests by route template and status, and times them."""

    def __init__(self, app: ASGIApp, metrics: Metrics):
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            status = scope.get(OUTCOME_KEY, status)
            route = scope.get("route")
            label = getattr(route, "path", None) or "unmatched"
            self.metrics.requests.labels(label, str(status)).inc()
            self.metrics.request_seconds.labels(label).observe(time.perf_counter() - started)
