"""/models, /health/*, /metrics, unknown routes, not-ready behaviour, and real uvicorn."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
from fastapi.testclient import TestClient

from app.api.app import create_app
from tests.app.api.conftest import tiny_settings


def test_models_lists_every_served_model(client):
    models = {m["name"]: m for m in client.get("/models").json()["models"]}
    assert "tiny" in models
    tiny = models["tiny"]
    assert tiny["pooling"] == "mean" and tiny["whitening_k"] is None
    assert tiny["dimension"] == tiny["hidden_size"] and tiny["max_length"] > 0
    assert tiny["providers"] == ["CPUExecutionProvider"]


def test_health_and_metrics(client):
    assert client.get("/health/live").json() == {"status": "ok"}
    ready = client.get("/health/ready")
    assert ready.status_code == 200 and "tiny" in ready.json()["models"]
    client.post("/embed", json={"texts": ["a b c"]})
    client.post("/embed", json={"texts": []})
    text = client.get("/metrics").text
    assert 'simserve_requests_total{route="/embed",status="200"}' in text
    assert 'simserve_requests_total{route="/embed",status="400"}' in text
    assert 'simserve_batch_size_count{model="tiny"}' in text
    real = float(text.split('simserve_batch_real_tokens_total{model="tiny"} ')[1].split()[0])
    padded = float(text.split('simserve_batch_padded_tokens_total{model="tiny"} ')[1].split()[0])
    assert 0 < real <= padded
    assert 'simserve_stage_seconds_count{model="tiny",stage="inference"}' in text
    assert 'simserve_queue_depth{model="tiny"}' in text


def test_unknown_route_and_method_use_the_error_shape(client):
    r = client.get("/nope")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = client.get("/embed")
    assert r.status_code == 405 and r.json()["error"]["code"] == "method_not_allowed"


def test_not_ready_without_models(tmp_path):
    settings = tiny_settings(tmp_path, lifecycle={"retry_after_s": 7})
    with TestClient(create_app(settings)) as c:
        assert c.get("/health/live").status_code == 200
        r = c.get("/health/ready")
        assert r.status_code == 503 and r.headers["retry-after"] == "7"
        assert "export-default" in r.json()["error"]["message"]
        r = c.post("/embed", json={"texts": ["x"]})
        assert r.status_code == 503 and r.json()["error"]["code"] == "not_ready"
        assert r.headers["retry-after"] == "7"


def test_real_uvicorn_serves_concurrent_clients_consistently(live):
    texts = [f"sentence number {i} " + "word " * (i % 7) for i in range(32)]
    alone = [
        np.asarray(live.post("/embed", json={"texts": [t]}).json()["embeddings"][0]) for t in texts
    ]
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda t: live.post("/embed", json={"texts": [t]}), texts))
    assert all(a.status_code == 200 for a in answers)
    for ref, ans in zip(alone, answers, strict=True):
        np.testing.assert_allclose(np.asarray(ans.json()["embeddings"][0]), ref, atol=1e-5)
    assert live.get("/health/ready").status_code == 200
