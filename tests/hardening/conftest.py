"""Fixtures for the hardening suite: real `python -m app` servers on the tiny models."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.hardening.helpers import RO_KEY, RW_KEY, start_server
from tests.live_server import LiveServer


@pytest.fixture(scope="module")
def secured_server(tiny_models_dir, tmp_path_factory) -> Iterator[LiveServer]:
    """A live server with a read-write and a read-only key; probes and metrics public."""
    log = tmp_path_factory.mktemp("logs") / "server.log"
    server = start_server(
        tiny_models_dir,
        log_path=log,
        SIMSERVE_AUTH__KEYS=f'["{RW_KEY}"]',
        SIMSERVE_AUTH__READ_ONLY_KEYS=f'["{RO_KEY}"]',
        SIMSERVE_LIMITS__MAX_BODY_BYTES="1048576",
    )
    try:
        yield server
    finally:
        server.stop()
