"""POST /match and a collection's calibration; /search modes lexical and hybrid (TestClient,
tiny real model, real SQLite and FAISS)."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from app.api.app import create_app
from app.index.calibration import model_fingerprint
from tests.app.api.conftest import faq_client

DOCS = [
    ("q1", "how do I reset my password"),
    ("q2", "where is my parcel"),
    ("q3", "cancel my subscription please"),
    ("q4", "怎么修改银行卡密码"),
    ("q5", "我的快递到哪里了"),
]
OTHER = ["the weather is nice", "a red bicycle", "sing a song", "green tea", "the old bridge"]


@pytest.fixture()
def settings(faq_settings):
    return faq_settings


@pytest.fixture()
def api(settings):
    with faq_client(settings, [{"id": i, "text": t} for i, t in DOCS]) as client:
        yield client


def pairs() -> list[dict]:
    """Identical texts (cosine 1) labelled 1, different ones labelled 0: a clean cut."""
    texts = [t for _, t in DOCS] + OTHER
    same = [{"a": t, "b": t, "label": 1} for t in texts]
    different = [
        {"a": a, "b": b, "label": 0} for a, b in zip(texts, texts[1:] + texts[:1], strict=True)
    ]
    return same + different


def test_match_needs_a_calibration(api):
    r = api.post("/match", json={"collection": "faq", "query": "reset password"})
    assert r.status_code == 409
    assert "PUT /collections/faq/calibration" in r.json()["error"]["message"]


def test_calibrate_from_pairs_match_abstain_and_survive_a_restart(api, settings):
    r = api.put("/collections/faq/calibration", json={"pairs": pairs()})
    assert r.status_code == 200, r.text
    cal = r.json()
    assert cal["model"] == "tiny" and cal["pairs"] == 20 and cal["positives"] == 10
    assert cal["accuracy"] == 1.0 and cal["usable"] and cal["threshold"] < 1.0

    r = api.post("/match", json={"collection": "faq", "query": DOCS[1][1], "alternatives": 2})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["matched"] and body["hit"]["id"] == "q2"
    assert body["hit"]["score"] == pytest.approx(1.0, abs=1e-5)
    assert body["confidence"] > 0.5 and len(body["alternatives"]) == 2
    assert all(h["id"] != "q2" for h in body["alternatives"])

    # positives only at cosine >= 1.5: no hit can reach the threshold -> abstain
    scores = [1.5] * 10 + [1.2] * 10
    r = api.put(
        "/collections/faq/calibration", json={"scores": scores, "labels": [1] * 10 + [0] * 10}
    )
    assert r.status_code == 200, r.text
    r = api.post("/match", json={"collection": "faq", "query": DOCS[1][1], "alternatives": 2})
    body = r.json()
    assert not body["matched"] and body["hit"] is None
    assert [h["id"] for h in body["alternatives"]][0] == "q2" and len(body["alternatives"]) == 2
    assert body["confidence"] < 0.5

    shown = api.get("/collections/faq").json()["calibration"]
    assert shown["threshold"] == pytest.approx(1.35) and shown["usable"]
    api.__exit__(None, None, None)
    with TestClient(create_app(settings)) as again:  # durable: stored in the docstore
        assert again.get("/collections/faq/calibration").json()["threshold"] == pytest.approx(1.35)
        r = again.delete("/collections/faq/calibration")
        assert r.json()["deleted"] is True
        assert again.get("/collections/faq/calibration").status_code == 404
        assert again.get("/collections/faq").json()["calibration"] is None


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"scores": [0.9] * 30, "labels": [1] * 30}, 422, "one class only"),
        ({"scores": [0.9, 0.1] * 5, "labels": [1, 0] * 5}, 422, "too few pairs: 10"),
        ({"pairs": pairs()[:8]}, 422, "too few pairs: 8"),
        ({"scores": [0.5] * 20}, 422, "scores need labels"),
        ({}, 422, "exactly one of"),
        ({"pairs": pairs(), "scores": [0.1]}, 422, "exactly one of"),
        ({"scores": [0.5] * 20, "labels": [0, 1] * 10, "method": "magic"}, 422, "method"),
    ],
)
def test_bad_calibration_input_is_named(api, body, status, message):
    r = api.put("/collections/faq/calibration", json=body)
    assert r.status_code == status, r.text
    assert message in json.dumps(r.json())


def test_nan_scores_are_rejected_before_fitting(api):
    body = '{"scores": [NaN' + ", 0.5" * 19 + '], "labels": [' + ", ".join(["0", "1"] * 10) + "]}"
    r = api.put(
        "/collections/faq/calibration", content=body, headers={"content-type": "application/json"}
    )
    assert r.status_code == 400 and "NaN" in r.json()["error"]["message"]


def test_another_models_calibration_is_refused_loudly(api, tiny_models_dir):
    fitted = api.put("/collections/faq/calibration", json={"pairs": pairs()}).json()
    upload = {k: fitted[k] for k in fitted if k not in ("usable", "problem")}
    r = api.put("/collections/faq/calibration", json={"calibration": {**upload, "model": "minilm"}})
    assert r.status_code == 409 and "fitted for model 'minilm'" in r.json()["error"]["message"]
    stale = {**upload, "fingerprint": "0" * 16}
    r = api.put("/collections/faq/calibration", json={"calibration": stale})
    assert r.status_code == 409 and "fingerprint 0000000000000000" in r.json()["error"]["message"]
    r = api.put("/collections/faq/calibration", json={"calibration": {**upload, "threshold": "x"}})
    assert r.status_code == 422
    r = api.put("/collections/faq/calibration", json={"calibration": upload})
    assert r.status_code == 200 and r.json()["threshold"] == fitted["threshold"]
    assert fitted["fingerprint"] == model_fingerprint(
        json.loads((tiny_models_dir / "tiny" / "manifest.json").read_text())["files"]
    )


def _ids(api, query, mode, **extra):
    r = api.post("/search", json={"collection": "faq", "query": query, "mode": mode, **extra})
    assert r.status_code == 200, r.text
    return r.json()["results"][0]["hits"]


def test_lexical_and_hybrid_search_follow_writes(api):
    hits = _ids(api, "cancel subscription", "lexical", top_k=3)
    assert hits[0]["id"] == "q3" and hits[0]["lexical_score"] > 0
    assert len(hits) == 1  # no other document has either word
    assert -1 <= hits[0]["score"] <= 1  # the cosine, as in dense mode
    assert _ids(api, "银行卡密码", "lexical")[0]["id"] == "q4"  # jieba words
    hybrid = _ids(api, "cancel subscription", "hybrid", top_k=5)
    assert hybrid[0]["id"] == "q3" and len(hybrid) == 5
    assert all(h["fused_score"] > 0 for h in hybrid)
    assert hybrid[0]["lexical_score"] > 0 and hybrid[-1]["lexical_score"] is None
    reranked = _ids(
        api, "cancel subscription", "hybrid", top_k=2, rerank={"method": "wrd", "candidates": 5}
    )
    assert len(reranked) == 2 and all(h["rerank_score"] is not None for h in reranked)

    api.post("/collections/faq/documents/delete", json={"ids": ["q3"]})
    assert _ids(api, "cancel subscription", "lexical") == []
    doc = {"id": "q6", "text": "renew the subscription", "aliases": ["extend my plan"]}
    api.post("/collections/faq/documents", json={"documents": [doc]})
    assert [h["id"] for h in _ids(api, "extend plan", "lexical")] == ["q6"]
    r = api.post("/search", json={"collection": "faq", "query": "x", "mode": "fuzzy"})
    assert r.status_code == 422 and "hybrid" in r.text

    r = api.post("/match", json={"collection": "faq", "query": "x", "alternatives": 21})
    assert r.status_code in (409, 422)


def test_a_changed_model_invalidates_the_stored_calibration_loudly(api):
    fitted = api.put("/collections/faq/calibration", json={"pairs": pairs()}).json()
    stale = {k: fitted[k] for k in fitted if k not in ("usable", "problem")}
    stale["fingerprint"] = "0" * 16  # as if the served model was re-exported since the fit
    api.app.state.container.collections.store.get("faq").set_meta("calibration", stale)
    shown = api.get("/collections/faq").json()["calibration"]
    assert shown["usable"] is False and "fingerprint 0000000000000000" in shown["problem"]
    r = api.post("/match", json={"collection": "faq", "query": "where is my parcel"})
    assert r.status_code == 409 and "fit it again" in r.json()["error"]["message"]
    body = {"documents": [{"id": "n", "text": "x"}], "duplicates": {"action": "report"}}
    r = api.post("/collections/faq/documents", json=body)
    assert r.status_code == 409 and "0000000000000000" in r.json()["error"]["message"]
    body["duplicates"]["threshold"] = 0.99  # an explicit threshold needs no calibration
    assert api.post("/collections/faq/documents", json=body).status_code == 200
