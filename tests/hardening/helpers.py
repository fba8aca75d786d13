"""Helpers for the hardening suite: live servers on the tiny models, keys, contract checks."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any, NamedTuple

from tests.live_server import LiveServer

RW_KEY = "rw-key-0123456789abcdef"
RO_KEY = "ro-key-0123456789abcdef"

TINY_ENV = {"SIMSERVE_MODELS__DEFAULT": "tiny", "SIMSERVE_MODELS__INTRA_OP_THREADS": "1"}


def start_server(
    models_dir: Path | list[Path], log_path: Path | None = None, **env: str
) -> LiveServer:
    """Start `python -m app` on the tiny models with extra `SIMSERVE_*` env settings."""
    dirs = models_dir if isinstance(models_dir, list) else [models_dir]
    return LiveServer(dirs, env={**TINY_ENV, **env}).start(log_path=log_path)


def collections_env(root: Path) -> dict[str, str]:
    """Collections in a temp folder, exact (flat) FAISS indexes on the CPU."""
    return {
        "SIMSERVE_COLLECTIONS__DATA_DIR": str(root / "collections"),
        "SIMSERVE_COLLECTIONS__DEFAULT_INDEX": "flat",
        "SIMSERVE_COLLECTIONS__USE_GPU": "false",
    }


def generator_dir(root: Path) -> Path | None:
    """A models dir with a tiny random SimBERT generator (`tiny-simbert`); None without torch."""
    try:
        from tests.app.generation.tiny_simbert import build_tiny_simbert

        build_tiny_simbert(root / "generators")
    except ImportError:
        return None
    return root / "generators"


def contract_problem(path: str, status: int, headers, body: object) -> str | None:
    """Why an error response breaks the contract, or None when it keeps it.

    Native routes: `{"error": {"code", "message", "param"?}}`; /v1/: OpenAI's
    `{"error": {"message", "type", "param", "code"}}`; 429/503 carry Retry-After;
    no 5xx body mentions a traceback or a file path.
    """
    if not isinstance(body, dict) or set(body) != {"error"} or not isinstance(body["error"], dict):
        return f"body is not {{'error': {{...}}}}: {body!r:.200}"
    err = body["error"]
    if path.startswith("/v1/"):
        if set(err) != {"message", "type", "param", "code"}:
            return f"OpenAI error keys are {sorted(err)}"
    else:
        if not {"code", "message"} <= set(err) or not set(err) <= {"code", "message", "param"}:
            return f"error keys are {sorted(err)}"
    if not isinstance(err.get("code"), str) or not isinstance(err.get("message"), str):
        return "code and message must be strings"
    if status in (429, 503) and "retry-after" not in {k.lower() for k in headers}:
        return f"{status} without Retry-After"
    text = str(err["message"])
    for leak in ("Traceback", 'File "', "/site-packages/", "/work/", '.py"'):
        if leak in text:
            return f"message leaks internals ({leak!r})"
    return None


class RawResponse(NamedTuple):
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def read_response(sock: socket.socket) -> RawResponse:
    """One HTTP/1.1 response with a Content-Length from `sock`; ConnectionError if closed."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"connection closed after {len(data)} bytes")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed mid-body")
        body += chunk
    return RawResponse(int(lines[0].split()[1]), headers, body[:length])


def raw_request(method: str, path: str, body: bytes = b"", headers: dict | None = None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    if body or method in ("POST", "PUT"):
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def connect(url: str, timeout: float = 30.0) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=timeout)
    return sock
