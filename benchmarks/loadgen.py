"""A lean HTTP/1.1 keep-alive load generator on asyncio streams.

The machine has 2 cores shared by client and server, so the client must cost little:
no HTTP library, pre-encoded request bytes, one connection per simulated client.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LoadResult:
    requests: int
    items: int  # sentences sent in successful requests
    errors: int
    seconds: float
    latencies_ms: np.ndarray

    @property
    def items_per_s(self) -> float:
        return self.items / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        return (
            float(np.percentile(self.latencies_ms, q)) if len(self.latencies_ms) else float("nan")
        )


def encode_request(host: str, port: int, path: str, payload: dict) -> bytes:
    body = json.dumps(payload).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    return head + body


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    body = await reader.readexactly(length) if length else b""
    return status, body


async def _client(host, port, requests, sizes, deadline, lat, counts):
    reader, writer = await asyncio.open_connection(host, port)
    i = 0
    try:
        while time.perf_counter() < deadline:
            req, size = requests[i % len(requests)], sizes[i % len(requests)]
            i += 1
            t0 = time.perf_counter()
            writer.write(req)
            status, _ = await _read_response(reader)
            lat.append((time.perf_counter() - t0) * 1000)
            if status == 200:
                counts[0] += size
            else:
                counts[1] += 1
    finally:
        writer.close()


async def _run(host, port, path, payloads, sizes, concurrency, seconds, offset_step):
    requests = [encode_request(host, port, path, p) for p in payloads]
    lat: list[float] = []
    counts = [0, 0]
    start = time.perf_counter()
    deadline = start + seconds
    tasks = []
    for c in range(concurrency):
        shift = (c * offset_step) % len(requests)
        rotated = requests[shift:] + requests[:shift]
        rsizes = sizes[shift:] + sizes[:shift]
        tasks.append(_client(host, port, rotated, rsizes, deadline, lat, counts))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    return LoadResult(len(lat), counts[0], counts[1], elapsed, np.asarray(lat))


def run_load(
    url: str, path: str, payloads: list[dict], sizes: list[int], concurrency: int, seconds: float
) -> LoadResult:
    """Drive `concurrency` keep-alive clients for `seconds`, each cycling through payloads."""
    host, port = url.removeprefix("http://").split(":")
    return asyncio.run(
        _run(
            host,
            int(port),
            path,
            payloads,
            sizes,
            concurrency,
            seconds,
            max(1, len(payloads) // max(concurrency, 1)),
        )
    )
