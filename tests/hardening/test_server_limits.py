"""What a client can hold on a real uvicorn server: heads, bodies, idle connections, 500s.

Issue 12 items 2 (bounded request heads, 431 as JSON), 3 (slow bodies answer 408 and free
their request slot; idle connections are closed) and 8 (a handled 500 keeps the
keep-alive connection usable). Raw sockets, because HTTP clients hide connection reuse and
refuse to send malformed or oversized heads.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn

from app.api.app import create_app
from app.api.http_protocol import server_config
from tests.app.api.conftest import tiny_settings
from tests.hardening.helpers import (
    RawResponse,
    connect,
    contract_problem,
    raw_request,
    read_response,
    start_server,
)
from tests.live_server import free_port

HEAD_LIMIT = 8192
SLOTS = 4
TIMEOUT_S = 1.5


@pytest.fixture(scope="module")
def server(tiny_models_dir, tmp_path_factory) -> Iterator:
    root = tmp_path_factory.mktemp("limits")
    srv = start_server(
        tiny_models_dir,
        log_path=root / "server.log",
        SIMSERVE_LIMITS__MAX_HEADER_BYTES=str(HEAD_LIMIT),
        SIMSERVE_LIMITS__MAX_HEADER_COUNT="20",
        SIMSERVE_LIFECYCLE__MAX_CONCURRENT_REQUESTS=str(SLOTS),
        SIMSERVE_LIFECYCLE__BODY_TIMEOUT_S=str(TIMEOUT_S),
        SIMSERVE_LIFECYCLE__HEADER_TIMEOUT_S=str(TIMEOUT_S),
    )
    try:
        yield srv, root / "server.log"
    finally:
        srv.stop()


def _assert_json_error(r: RawResponse, status: int, code: str) -> None:
    assert r.status, r.body[:200]
    assert r.status == status, r.body[:200]
    assert r.headers["content-type"] == "application/json", r.headers
    assert contract_problem("/", r.status, r.headers, r.json()) is None
    assert r.json()["error"]["code"] == code


def _send_until_answered(sock: socket.socket, head: bytes, piece: int = 4096) -> RawResponse:
    """Send `head` in pieces, stopping once the server answers (it closes right after)."""
    sock.settimeout(0.05)
    for start in range(0, len(head), piece):
        try:
            sock.sendall(head[start : start + piece])
        except (BrokenPipeError, ConnectionResetError):
            break
        try:
            peek = sock.recv(1, socket.MSG_PEEK)
        except (TimeoutError, BlockingIOError):
            continue
        if peek:
            break
    sock.settimeout(30)
    return read_response(sock)


def test_an_oversized_header_gets_431_as_json_and_the_server_stays_well(server):
    srv, _ = server
    huge = raw_request("GET", "/health/live", headers={"X-Big": "a" * (4 * 1024 * 1024)})
    with connect(srv.url) as sock:
        r = _send_until_answered(sock, huge)
    _assert_json_error(r, 431, "headers_too_large")
    assert r.headers.get("connection") == "close"
    long_line = raw_request("GET", "/health/live?" + "q" * (2 * HEAD_LIMIT))
    with connect(srv.url) as sock:
        _assert_json_error(_send_until_answered(sock, long_line), 431, "headers_too_large")
    assert httpx.get(f"{srv.url}/health/live", timeout=10).status_code == 200


def test_too_many_headers_get_431_and_a_normal_head_passes(server):
    srv, _ = server
    many = {f"X-H{i}": "v" for i in range(40)}
    with connect(srv.url) as sock:
        sock.sendall(raw_request("GET", "/health/live", headers=many))
        _assert_json_error(read_response(sock), 431, "headers_too_large")
    some = {f"X-H{i}": "v" * 100 for i in range(15)}
    with connect(srv.url) as sock:
        sock.sendall(raw_request("GET", "/health/live", headers=some))
        assert read_response(sock).status == 200


def test_a_malformed_request_gets_400_as_json(server):
    srv, _ = server
    with connect(srv.url) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nBad Header Name: v\r\n\r\n")
        _assert_json_error(read_response(sock), 400, "invalid_input")


def test_slow_bodies_get_408_and_free_their_slots(server):
    """Issue 12.3: 4 sockets announcing 100 bytes and sending 9 used to fill the 4 slots
    for as long as they stayed open."""
    srv, log = server
    head = raw_request("POST", "/embed", b'{"texts":', headers={"Content-Length": "100"})
    head = head.replace(b"Content-Length: 9\r\n", b"")
    slow = [connect(srv.url) for _ in range(SLOTS)]
    try:
        for sock in slow:
            sock.sendall(head)
        started = time.monotonic()
        for sock in slow:
            sock.settimeout(30)
            r = read_response(sock)
            _assert_json_error(r, 408, "request_timeout")
            assert r.headers.get("connection") == "close"
        assert time.monotonic() - started < 20
        r = httpx.post(f"{srv.url}/embed", json={"texts": ["after the slow bodies"]}, timeout=30)
        assert r.status_code == 200, r.text
    finally:
        for sock in slow:
            sock.close()
    assert "Traceback" not in log.read_text()


def test_idle_and_slow_head_connections_are_closed_and_hold_no_slot(server):
    srv, _ = server
    idle = [connect(srv.url) for _ in range(SLOTS)]
    partial = connect(srv.url)
    try:
        partial.sendall(b"POST /embed HTTP/1.1\r\nHost: x\r\n")  # head never finished
        r = httpx.post(f"{srv.url}/embed", json={"texts": ["while they idle"]}, timeout=30)
        assert r.status_code == 200, r.text
        for sock in [*idle, partial]:
            sock.settimeout(30)
            _assert_json_error(read_response(sock), 408, "request_timeout")
            assert sock.recv(1) == b""  # and closed
    finally:
        for sock in [*idle, partial]:
            sock.close()


@pytest.fixture(scope="module")
def failing_route_server(tiny_models_dir) -> Iterator[str]:
    """The real app and uvicorn configuration, in-process, plus a route that raises."""
    port = free_port()
    settings = tiny_settings(tiny_models_dir, server={"port": port})
    app = create_app(settings)

    async def boom() -> dict:
        raise RuntimeError("secret detail at /work/app/secret.py")

    app.add_api_route("/boom", boom, methods=["GET"])
    uv = uvicorn.Server(server_config(app, settings))
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not uv.started:
        assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        uv.should_exit = True
        thread.join(30)


def test_a_handled_500_keeps_the_connection_usable(failing_route_server):
    """Issue 12.8: the JSON 500 used to be followed by a closed keep-alive connection."""
    with connect(failing_route_server) as sock:
        for _ in range(3):
            sock.sendall(raw_request("GET", "/boom"))
            r = read_response(sock)
            _assert_json_error(r, 500, "internal_error")
            assert "secret" not in r.body.decode()
            assert r.headers.get("connection") != "close"
            sock.sendall(raw_request("GET", "/health/live"))
            assert read_response(sock).status == 200
