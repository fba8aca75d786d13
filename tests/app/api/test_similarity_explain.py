"""/similarity with explain: the transport plan behind WMD/WRD scores, through the API."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.api.app import create_app
from app.rerank.explain import heaviest_flow
from tests.app.api.conftest import tiny_settings

PAIR = ["How do I reset my password?", "I forgot my password"]
TINY_B = ["i", "for", "##g", "##o", "##t", "my", "password"]  # the tiny vocab has no "forgot"


def heaviest(explanation: dict) -> tuple[str, str]:
    i, j = heaviest_flow(np.asarray(explanation["plan"]))
    return explanation["tokens_a"][i], explanation["tokens_b"][j]


@pytest.mark.parametrize("method", ["wmd", "wrd"])
def test_explain_returns_tokens_weights_plan_and_cost(client, method):
    pairs = [PAIR, ["hello world", "good weather today"]]
    plain = client.post("/similarity", json={"pairs": pairs, "method": method}).json()
    r = client.post("/similarity", json={"pairs": pairs, "method": method, "explain": True})
    assert r.status_code == 200, r.text
    body = r.json()
    np.testing.assert_allclose(body["scores"], plain["scores"], atol=1e-6)
    assert plain["explanations"] is None
    assert len(body["explanations"]) == 2
    first = body["explanations"][0]
    assert first["tokens_a"] == ["how", "do", "i", "reset", "my", "password", "?"]
    assert first["tokens_b"] == TINY_B
    for e, score in zip(body["explanations"], body["scores"], strict=True):
        plan, cost = np.asarray(e["plan"]), np.asarray(e["cost"])
        assert plan.shape == cost.shape == (len(e["tokens_a"]), len(e["tokens_b"]))
        np.testing.assert_allclose(plan.sum(axis=1), e["weights_a"], atol=1e-9)
        np.testing.assert_allclose(plan.sum(axis=0), e["weights_b"], atol=1e-9)
        np.testing.assert_allclose(e["distance"], (plan * cost).sum(), atol=1e-9)
        want = -e["distance"] if method == "wmd" else 1 - e["distance"]
        np.testing.assert_allclose(score, want, atol=1e-6)
    if method == "wmd":  # uniform mass
        np.testing.assert_allclose(first["weights_a"], np.full(7, 1 / 7))


def test_explain_one_to_many(client):
    r = client.post(
        "/similarity",
        json={"source": PAIR[0], "sentences": [PAIR[1], "hello"], "method": "wrd", "explain": True},
    )
    assert r.status_code == 200, r.text
    assert [e["tokens_b"] for e in r.json()["explanations"]] == [TINY_B, ["hello"]]


def test_explain_is_checked(client):
    r = client.post("/similarity", json={"pairs": [PAIR], "explain": True})
    assert r.status_code == 422
    assert r.json()["error"]["param"] == "explain"
    assert "wmd or wrd" in r.json()["error"]["message"]
    r = client.post("/similarity", json={"pairs": [PAIR] * 17, "method": "wrd", "explain": True})
    assert r.status_code == 413
    assert r.json()["error"]["param"] == "explain"
    r = client.post("/similarity", json={"pairs": [PAIR], "method": "wrd", "explain": "yes"})
    assert r.status_code == 422


@pytest.mark.slow
def test_minilm_password_flows_to_password(minilm_models_dir):
    """The issue's target: the heaviest WRD flow of this pair is password <-> password."""
    settings = tiny_settings(minilm_models_dir)
    settings.models.default = "minilm"
    with TestClient(create_app(settings)) as c:
        r = c.post("/similarity", json={"pairs": [PAIR], "method": "wrd", "explain": True})
    assert r.status_code == 200, r.text
    assert heaviest(r.json()["explanations"][0]) == ("password", "password")
