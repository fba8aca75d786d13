"""Graceful drain on SIGTERM and freeing of abandoned work, on a real uvicorn server.

The batcher is told to wait seconds for batch-mates (4 s; 8 s for the drain burst), so
requests provably sit queued (not yet computed) when the signal or the disconnect
happens, even on a loaded shared machine.
"""

from __future__ import annotations

import socket
import threading
import time

import httpx
import pytest

from tests.hardening.helpers import collections_env, start_server

WAIT_S = 4.0
SLOW_BATCHER = {
    "SIMSERVE_BATCHER__MAX_WAIT_MS": str(int(WAIT_S * 1000)),
    "SIMSERVE_BATCHER__MAX_BATCH_SIZE": "100000",
    "SIMSERVE_BATCHER__MAX_BATCH_TOKENS": "1000000",
}


def metric(url: str, name: str) -> float:
    for line in httpx.get(f"{url}/metrics", timeout=5).text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.split()[-1])
    return 0.0


def wait_for(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        time.sleep(0.05)


def test_sigterm_during_a_burst_answers_every_accepted_request_and_exits_0(
    tiny_models_dir, tmp_path
):
    env = {
        **SLOW_BATCHER,
        **collections_env(tmp_path),
        "SIMSERVE_BATCHER__MAX_WAIT_MS": "8000",  # the whole burst lands in one wait
        "SIMSERVE_LIFECYCLE__DRAIN_TIMEOUT_S": "30",
    }
    log = tmp_path / "server.log"
    server = start_server(tiny_models_dir, log_path=log, **env)
    assert httpx.put(f"{server.url}/collections/drain", json={}, timeout=30).status_code == 201
    n_embed, n_write = 24, 8
    n = n_embed + n_write
    results: list[tuple[int, float] | Exception] = [None] * n  # type: ignore[list-item]

    def one(i: int) -> None:
        try:
            with httpx.Client(base_url=server.url, timeout=30) as c:
                if i < n_embed:
                    r = c.post(
                        "/embed", json={"texts": [f"request {i} text {j}" for j in range(4)]}
                    )
                else:
                    doc = {"id": f"d{i}", "text": f"written during the drain {i}"}
                    r = c.post("/collections/drain/documents", json={"documents": [doc]})
                results[i] = (r.status_code, time.monotonic())
        except Exception as exc:  # recorded and asserted on below
            results[i] = exc

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    try:
        for t in threads:
            t.start()
        wait_for(lambda: metric(server.url, "simserve_requests_in_progress") >= n)
        signalled = time.monotonic()
        server.proc.send_signal(15)
        # connections opened after the signal are refused or told to come back
        late = []
        for _ in range(5):
            try:
                late.append(httpx.post(f"{server.url}/embed", json={"texts": ["x"]}, timeout=5))
            except httpx.TransportError:
                late.append(None)
            time.sleep(0.05)
        for t in threads:
            t.join(60)
        code = server.proc.wait(60)
    finally:
        server.kill()
    assert code == 0, log.read_text()[-3000:]
    assert all(isinstance(r, tuple) for r in results), results
    assert [status for status, _ in results] == [200] * n
    assert all(done > signalled for _, done in results)  # they were in flight at SIGTERM
    assert all(r is None or r.status_code == 503 for r in late)
    assert "Traceback" not in log.read_text()
    # the collection was checkpointed on the way out, and every acknowledged write is there
    assert (tmp_path / "collections" / "drain" / "index.npz").exists()
    again = start_server(tiny_models_dir, log_path=log, **env)
    try:
        with httpx.Client(base_url=again.url, timeout=30) as c:
            assert c.get("/collections/drain").json()["size"] == n_write
            for i in range(n_embed, n):
                r = c.get(f"/collections/drain/documents/d{i}")
                assert r.status_code == 200 and r.json()["text"].endswith(str(i))
    finally:
        again.stop()


def _raw_post(port: int, body: bytes) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(
        b"POST /embed HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    return sock


@pytest.fixture(scope="module")
def slow_server(tiny_models_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("slow")
    server = start_server(
        tiny_models_dir,
        log_path=root / "server.log",
        **collections_env(root),
        SIMSERVE_BATCHER__QUEUE_SIZE="8",
        SIMSERVE_LIFECYCLE__MAX_CONCURRENT_REQUESTS="3",
        SIMSERVE_LIFECYCLE__RETRY_AFTER_S="3",  # not the default 1: the header must follow it
        **SLOW_BATCHER,
    )
    try:
        yield server
    finally:
        server.stop()


def test_client_disconnect_cancels_its_queued_work(slow_server):
    url = slow_server.url
    batches = metric(url, 'simserve_batch_size_count{model="tiny"}')
    gone = metric(url, "simserve_client_disconnects_total")
    sock = _raw_post(slow_server.port, b'{"texts": ["abandoned one", "abandoned two"]}')
    wait_for(lambda: metric(url, "simserve_requests_in_progress") == 1)
    sock.close()  # long before the batcher's wait is over
    wait_for(lambda: metric(url, "simserve_client_disconnects_total") == gone + 1)
    time.sleep(WAIT_S + 0.5)  # past the batcher's wait: the texts were dropped, not computed
    assert metric(url, 'simserve_batch_size_count{model="tiny"}') == batches
    assert metric(url, "simserve_requests_in_progress") == 0
    r = httpx.post(f"{url}/embed", json={"texts": ["still serving"]}, timeout=10)
    assert r.status_code == 200
    assert metric(url, 'simserve_batch_size_count{model="tiny"}') == batches + 1


def test_overload_is_429_with_retry_after_and_nothing_is_lost(slow_server):
    url = slow_server.url
    first: list[httpx.Response] = []
    t = threading.Thread(
        target=lambda: first.append(
            httpx.post(f"{url}/embed", json={"texts": ["a b"] * 6}, timeout=30)
        )
    )
    t.start()
    wait_for(lambda: metric(url, 'simserve_queue_depth{model="tiny"}') >= 6)
    # the model queue holds 8 texts: 6 queued + 6 more does not fit
    r = httpx.post(f"{url}/embed", json={"texts": ["c d"] * 6}, timeout=30)
    assert r.status_code == 429 and r.headers["retry-after"] == "3"
    assert r.json()["error"]["code"] == "overloaded"
    t.join(30)
    assert first[0].status_code == 200 and len(first[0].json()["embeddings"]) == 6


def test_too_many_requests_in_progress_is_429_before_reading_the_body(slow_server):
    url = slow_server.url
    socks = [_raw_post(slow_server.port, b'{"texts": ["hold"]}') for _ in range(3)]
    try:
        wait_for(lambda: metric(url, "simserve_requests_in_progress") == 3)
        r = httpx.post(f"{url}/embed", json={"texts": ["one too many"]}, timeout=10)
        assert r.status_code == 429 and r.headers["retry-after"] == "3"
        assert "in progress" in r.json()["error"]["message"]
        assert httpx.get(f"{url}/health/ready", timeout=5).status_code == 200  # probes exempt
        for s in socks:
            s.settimeout(10)
            assert s.recv(64).startswith(b"HTTP/1.1 200")
    finally:
        for s in socks:
            s.close()
