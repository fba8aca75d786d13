"""Closed-loop HTTP load for the race: N clients on keep-alive connections, one asyncio loop.

The client is a minimal HTTP/1.1 writer/reader over asyncio streams with pre-encoded
bodies, so the load generator spends as little as possible of the shared 2 cores; every
server in the race is driven by the same code.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np


class LoadResult(NamedTuple):
    """One load cell. Latencies in milliseconds over the measured window only."""

    clients: int
    sentences_per_request: int
    requests: int
    errors: int
    seconds: float
    sentences_per_s: float
    p50_ms: float
    p99_ms: float
    first_error: str
    padding_efficiency: float = float("nan")  # real / padded tokens, servers with /metrics


class _Conn:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def post(self, head: bytes, body: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            await self.open()
        assert self.reader is not None and self.writer is not None
        self.writer.write(head + body)
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("server closed the connection")
        status = int(status_line.split()[1])
        length, chunked, keep_alive = None, False, True
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding" and "chunked" in value:
                chunked = True
            elif name == "connection" and value == "close":
                keep_alive = False
        if chunked:
            parts = []
            while True:
                size = int((await self.reader.readline()).split(b";")[0], 16)
                if size == 0:
                    await self.reader.readline()
                    break
                parts.append(await self.reader.readexactly(size))
                await self.reader.readline()
            payload = b"".join(parts)
        elif length is not None:
            payload = await self.reader.readexactly(length)
        else:
            payload = await self.reader.read()
            keep_alive = False
        if not keep_alive:
            self.close()
        return status, payload


def request_head(host: str, port: int, path: str, body_len: int) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {body_len}\r\nConnection: keep-alive\r\n\r\n"
    ).encode()


async def _client(
    conn: _Conn,
    requests: Sequence[tuple[bytes, bytes]],
    offset: int,
    start_measure: float,
    stop_at: float,
    latencies: list[float],
    errors: list[str],
) -> None:
    i = offset
    while True:
        now = time.perf_counter()
        if now >= stop_at:
            return
        head, body = requests[i % len(requests)]
        i += 1
        try:
            status, payload = await conn.post(head, body)
            ok = status == 200
            reason = "" if ok else f"HTTP {status}: {payload[:160]!r}"
        except (OSError, ConnectionError, asyncio.IncompleteReadError, ValueError) as exc:
            conn.close()
            ok, reason = False, f"{type(exc).__name__}: {exc}"
        done = time.perf_counter()
        # Count by completion time: a request longer than the window still counts once
        # it finishes inside it (steady state after the warm-up), so slow servers get a rate.
        if start_measure <= done <= stop_at:
            if ok:
                latencies.append(done - now)
            else:
                errors.append(reason)


async def _run(
    host: str,
    port: int,
    requests: Sequence[tuple[bytes, bytes]],
    clients: int,
    warmup_s: float,
    duration_s: float,
) -> tuple[list[float], list[str]]:
    conns = [_Conn(host, port) for _ in range(clients)]
    latencies: list[float] = []
    errors: list[str] = []
    start_measure = time.perf_counter() + warmup_s
    stop_at = start_measure + duration_s
    step = max(1, len(requests) // clients)
    try:
        await asyncio.gather(
            *(
                _client(c, requests, k * step, start_measure, stop_at, latencies, errors)
                for k, c in enumerate(conns)
            )
        )
    finally:
        for c in conns:
            c.close()
    return latencies, errors


def run_load(
    host: str,
    port: int,
    path: str,
    bodies: Sequence[bytes],
    sentences_per_request: int,
    clients: int,
    duration_s: float,
    warmup_s: float = 2.0,
) -> LoadResult:
    """Drive ``clients`` closed-loop clients for ``warmup_s + duration_s`` seconds.

    ``bodies`` are pre-encoded JSON request bodies, cycled; each carries
    ``sentences_per_request`` sentences. Requests that finish inside the measured window
    (after the warm-up) count: throughput = their sentences / ``duration_s``; latencies
    are theirs. Clients stop sending at the end of the window.
    """
    if clients < 1 or duration_s <= 0 or not bodies:
        raise ValueError("need clients >= 1, duration_s > 0 and at least one body")
    requests = [(request_head(host, port, path, len(b)), b) for b in bodies]
    latencies, errors = asyncio.run(_run(host, port, requests, clients, warmup_s, duration_s))
    ms = np.asarray(latencies, dtype=np.float64) * 1e3
    p50, p99 = (float(np.percentile(ms, q)) for q in (50, 99)) if ms.size else (float("nan"),) * 2
    return LoadResult(
        clients=clients,
        sentences_per_request=sentences_per_request,
        requests=len(latencies),
        errors=len(errors),
        seconds=duration_s,
        sentences_per_s=len(latencies) * sentences_per_request / duration_s,
        p50_ms=p50,
        p99_ms=p99,
        first_error=errors[0] if errors else "",
    )
