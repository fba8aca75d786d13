"""A real Milvus server for tests: the PyPI package `milvus` (embedded standalone 2.3.5).

`EmbeddedMilvus(folder)` starts the server binary with its data in `folder` and returns its
URI; `stop()` terminates it and makes sure the binary is gone (it is a separate process that
would outlive its parent and keep etcd's port 2379, so only one can run on a machine). A
leftover from an earlier, killed test run (recognised by its working folder's marker) is
killed before starting. Set SIMSERVE_TEST_MILVUS_URI to test against a server of your own.
"""

from __future__ import annotations

import os
import signal
import socket
import time
from pathlib import Path

EXTRA_CONFIG = {"proxy.timeTickInterval": "10"}
MARKER = "simserve-milvus-test"  # in the data folder's name: what a leftover is known by


def _port_busy(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def kill_leftovers() -> list[int]:
    """SIGKILL milvus binaries left by an earlier, killed test run: working folder with MARKER
    and no Python parent any more (orphans are re-parented to init or a subreaper). A server
    of another test session that is still running is left alone (its etcd port then makes
    this start fail with a clear message)."""
    import psutil

    killed = []
    for proc in psutil.process_iter(["pid", "name", "cmdline"]):
        try:
            cmd = proc.info["cmdline"] or []
            parent = proc.parent()
            orphan = parent is None or "python" not in " ".join(parent.cmdline())
            if cmd[:1] and cmd[0].endswith("/milvus") and MARKER in proc.cwd() and orphan:
                proc.kill()
                proc.wait(10)
                killed.append(proc.pid)
        except (psutil.Error, IndexError):
            continue
    return killed


class EmbeddedMilvus:
    def __init__(self, folder: Path, port: int = 19530):
        folder = Path(folder)
        self.folder = folder if MARKER in str(folder) else folder / MARKER
        self.port = port
        self.server = None

    def start(self) -> str:
        from milvus import MilvusServer

        kill_leftovers()
        if _port_busy(2379):
            raise RuntimeError(
                "port 2379 (etcd) is taken: another Milvus or etcd runs on this machine; "
                "stop it or set SIMSERVE_TEST_MILVUS_URI to use it"
            )
        self.folder.mkdir(parents=True, exist_ok=True)
        self.server = MilvusServer()
        self.server.set_base_dir(str(self.folder))
        self.server.show_startup_banner = False
        self.server.config.extra_configs.update(EXTRA_CONFIG)
        port = self.port
        while _port_busy(port):
            port += 1
        self.server.listen_port = port
        self.server.start()
        return f"http://127.0.0.1:{self.server.listen_port}"

    def stop(self) -> None:
        if self.server is None:
            return
        proc = self.server.server_proc
        try:
            self.server.stop()
        finally:
            if proc is not None and proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(10)
            self.server = None
        deadline = time.monotonic() + 10
        while _port_busy(2379) and time.monotonic() < deadline:
            time.sleep(0.1)

    def __enter__(self) -> str:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()
