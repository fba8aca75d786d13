"""API fixtures: an in-process TestClient and a real uvicorn server, both on tiny real models.

`tiny_models_dir` (tests/conftest.py) holds exported random-weight BERT folders.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

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


@pytest.fixture()
def faq_settings(tiny_models_dir, tmp_path) -> Settings:
    """Tiny settings whose collections live in this test's tmp_path (kept across a restart)."""
    return tiny_settings(tiny_models_dir, collections={"data_dir": str(tmp_path)})


@contextmanager
def faq_client(settings: Settings, docs: list[dict]) -> Iterator[TestClient]:
    """A TestClient serving a flat collection `faq` holding `docs`, upserted one by one (in
    order, so the first is the oldest)."""
    with TestClient(create_app(settings)) as client:
        assert client.put("/collections/faq", json={"index": {"kind": "flat"}}).status_code == 201
        for doc in docs:
            r = client.post("/collections/faq/documents", json={"documents": [doc]})
            assert r.status_code == 200, r.text
        yield client
