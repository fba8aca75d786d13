"""API fixtures: an in-process TestClient and a real uvicorn server, both on tiny real models.

`tiny_models_dir` (tests/conftest.py) holds exported random-weight BERT folders.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from app.api.app import create_app
from app.settings import Settings
from tests.live_server import LiveServer


def tiny_settings(models_dir, **overrides) -> Settings:
    data = {
        "models": {"dirs": [models_dir], "default": "tiny", "intra_op_threads": 1},
        # never the repository's var/collections
        "collections": {"data_dir": tempfile.mkdtemp(prefix="simserve-collections-")},
    }
    for key, value in overrides.items():
        data.setdefault(key, {}).update(value)
    return Settings(**data)


@pytest.fixture()
def client(tiny_models_dir) -> Iterator[TestClient]:
    with TestClient(create_app(tiny_settings(tiny_models_dir))) as c:
        yield c


@pytest.fixture(scope="module")
def live(tiny_models_dir) -> Iterator[httpx.Client]:
    """A real `python -m app` on a free loopback port; yields an httpx client bound to it."""
    server = LiveServer(
        [tiny_models_dir],
        env={"SIMSERVE_MODELS__DEFAULT": "tiny", "SIMSERVE_MODELS__INTRA_OP_THREADS": "1"},
    )
    with server, httpx.Client(base_url=server.url, timeout=30) as http:
        yield http
