"""uvicorn's httptools protocol with a bounded request head, and JSON for its own errors.

httptools (llhttp) has no limit on the request line and headers: a client could send
hundreds of MiB of headers, all held in memory before the app sees the request. Here the
bytes received before the end of the head are counted (after each read, so a body that
arrives in the same read is not counted) and so are the header lines; past
`limits.max_header_bytes` or `limits.max_header_count` the server answers 431 and closes.
Parser errors answer 400; both as the JSON error body, not uvicorn's plain text. A
connection that sends no complete head within `lifecycle.header_timeout_s` gets 408 and is
closed, so idle or slow-head connections hold nothing for long.

`server_config(app, settings)` is the one uvicorn configuration, used by `python -m app`
and by the live-server tests.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from app.api.errors import error_body
from app.settings import Settings


class _TooManyHeaders(Exception):
    pass


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """`HttpToolsProtocol` refusing request heads over `max_head_bytes` / `max_headers`."""

    max_head_bytes = 64 * 1024
    max_headers = 100

    head_timeout_s = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True  # a connection starts by sending a request head
        self._head_bytes = 0
        self._too_large: str | None = None
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:  # type: ignore[override]
        super().connection_made(transport)  # type: ignore[arg-type]
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def _arm_head_timer(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self.head_timeout_s, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        """A connection that sends no complete request head in time is closed (uvicorn's
        keep-alive timer only runs between requests, not before the first or mid-head)."""
        self._head_timer = None
        if self.transport.is_closing() or not self._in_head:
            return
        if self.cycle is not None and not self.cycle.response_complete:
            self._arm_head_timer()  # a pipelined head behind a running request: wait for it
            return
        message = f"no complete request head within {self.head_timeout_s:g} s"
        self._reject(408, "request_timeout", message)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True
        self._head_bytes = 0
        self._arm_head_timer()

    def on_header(self, name: bytes, value: bytes) -> None:
        super().on_header(name, value)
        if len(self.headers) > self.max_headers:
            self._too_large = f"more than {self.max_headers} request headers"
            raise _TooManyHeaders  # stops the parser: surfaces as HttpParserError

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._cancel_head_timer()
        super().on_headers_complete()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.transport.is_closing() or not self._in_head:
            return
        self._head_bytes += len(data)
        if self._head_bytes > self.max_head_bytes:
            self._too_large = f"request line and headers exceed {self.max_head_bytes} bytes"
            self.send_400_response("")

    def send_400_response(self, msg: str) -> None:
        """uvicorn calls this on a parser error; answers 431 when a head limit was hit."""
        if self.cycle is not None and not self.cycle.response_complete:
            self.transport.close()  # a pipelined request is mid-response: no room to answer
            return
        if self._too_large is not None:
            self._reject(431, "headers_too_large", self._too_large)
        else:
            self._reject(400, "invalid_input", "invalid HTTP request")

    def _reject(self, status: int, code: str, message: str) -> None:
        """Answer `status` in the JSON error contract and close the connection."""
        self._cancel_head_timer()
        body = json.dumps(error_body("", status, code, message)).encode()
        head = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            head += [name, b": ", value, b"\r\n"]
        head += [
            b"content-type: application/json\r\n",
            b"content-length: " + str(len(body)).encode("ascii") + b"\r\n",
            b"connection: close\r\n\r\n",
        ]
        self.transport.write(b"".join(head) + body)
        self.transport.close()


def server_config(app: Any, settings: Settings) -> uvicorn.Config:
    """The uvicorn configuration for `app`: bounded heads, drain timeout, no access log."""
    protocol = type(
        "SimserveHttpProtocol",
        (BoundedHttpToolsProtocol,),
        {
            "max_head_bytes": settings.limits.max_header_bytes,
            "max_headers": settings.limits.max_header_count,
            "head_timeout_s": settings.lifecycle.header_timeout_s,
        },
    )
    return uvicorn.Config(
        app,
        host=settings.server.host,
        port=settings.server.port,
        log_level=settings.server.log_level,
        access_log=False,
        http=protocol,
        timeout_graceful_shutdown=settings.lifecycle.drain_timeout_s,
    )
