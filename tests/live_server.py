"""Start the real server (`python -m app`, uvicorn) as a subprocess on a free loopback port."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    def __init__(
        self, models_dirs: list[Path], env: Mapping[str, str] | None = None, port: int | None = None
    ):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "SIMSERVE_MODELS__DIRS": json.dumps([str(d) for d in models_dirs]),
            "SIMSERVE_SERVER__LOG_LEVEL": "warning",
            # never the repository's var/collections: a fresh folder unless the test names one
            "SIMSERVE_COLLECTIONS__DATA_DIR": tempfile.mkdtemp(prefix="simserve-collections-"),
            **(env or {}),
        }
        self.proc: subprocess.Popen | None = None
        self.log_path: Path | None = None

    # 180 s: a start is mostly imports (torch, through POT), slow on a busy shared machine
    def start(self, timeout: float = 180.0, log_path: Path | None = None) -> LiveServer:
        self.log_path = log_path
        out = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "app", "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=REPO,
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            self.wait_ready(timeout)
        except BaseException:  # never leave a server that did not get ready running
            self.kill()
            raise
        return self

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode} before ready")
            try:
                if httpx.get(f"{self.url}/health/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"server on {self.url} not ready after {timeout} s")

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks run (crash simulation)."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM and wait; returns the exit code."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return self.proc.returncode if self.proc else None

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
