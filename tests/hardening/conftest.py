"""Fixtures for the hardening suite: real `python -m app` servers on the tiny models."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.hardening.helpers import (
    RO_KEY,
    RW_KEY,
    collections_env,
    generator_dir,
    start_server,
)
from tests.live_server import LiveServer


@pytest.fixture(scope="session")
def all_models_dirs(tiny_models_dir, tmp_path_factory) -> list:
    """The tiny encoders plus, when torch is there, a tiny SimBERT generator."""
    gen = generator_dir(tmp_path_factory.mktemp("hardening-generators"))
    return [tiny_models_dir] + ([gen] if gen is not None else [])


@pytest.fixture(scope="module")
def secured_server(all_models_dirs, tmp_path_factory) -> Iterator[LiveServer]:
    """Every route (collections in a temp folder, paraphrase when torch is there), with a
    read-write and a read-only key; probes and metrics public."""
    root = tmp_path_factory.mktemp("secured")
    server = start_server(
        all_models_dirs,
        log_path=root / "server.log",
        SIMSERVE_AUTH__KEYS=f'["{RW_KEY}"]',
        SIMSERVE_AUTH__READ_ONLY_KEYS=f'["{RO_KEY}"]',
        SIMSERVE_LIMITS__MAX_BODY_BYTES="1048576",
        **collections_env(root),
    )
    try:
        yield server
    finally:
        server.stop()
