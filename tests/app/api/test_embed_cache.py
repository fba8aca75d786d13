"""The vector cache through the HTTP API: /metrics counters and the off switch."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from app.api.app import create_app
from tests.app.api.conftest import tiny_settings


def metric(client: TestClient, name: str) -> float:
    body = client.get("/metrics").text
    values = re.findall(rf"^{name}(?:\{{[^}}]*\}})? (\S+)$", body, re.M)
    return sum(float(v) for v in values)


def test_repeated_embed_is_a_cache_hit_with_the_same_vector(tiny_models_dir):
    with TestClient(create_app(tiny_settings(tiny_models_dir))) as client:
        first = client.post("/embed", json={"texts": ["where is my order"]}).json()
        second = client.post("/embed", json={"texts": ["where is my order"]}).json()
        assert second["embeddings"] == first["embeddings"]
        assert metric(client, "simserve_vector_cache_hits_total") == 1
        assert metric(client, "simserve_vector_cache_misses_total") == 1
        assert metric(client, "simserve_vector_cache_bytes") > 0


def test_cache_off_switch(tiny_models_dir):
    settings = tiny_settings(tiny_models_dir, cache={"enabled": False})
    with TestClient(create_app(settings)) as client:
        first = client.post("/embed", json={"texts": ["where is my order"]}).json()
        second = client.post("/embed", json={"texts": ["where is my order"]}).json()
        assert second["embeddings"] == first["embeddings"]
        assert metric(client, "simserve_vector_cache_hits_total") == 0
        assert metric(client, "simserve_vector_cache_misses_total") == 0
