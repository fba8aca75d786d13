"""Duplicate detection on upsert: report or refuse (TestClient, tiny real model, real SQLite
and FAISS). Identical texts have cosine 1, so a threshold of 0.999 flags exactly them."""

from __future__ import annotations

import pytest

from tests.app.api.conftest import faq_client

DOCS = [("q1", "how do I reset my password"), ("q2", "where is my parcel")]


@pytest.fixture()
def api(faq_settings):
    docs = [{"id": i, "text": t, "aliases": ["lost parcel"] if i == "q2" else []} for i, t in DOCS]
    with faq_client(faq_settings, docs) as client:
        yield client


def upsert(api, docs, **duplicates):
    body = {"documents": [{"id": i, "text": t} for i, t in docs], "duplicates": duplicates}
    return api.post("/collections/faq/documents", json=body)


def test_report_lists_stored_alias_and_in_batch_duplicates_and_writes_all(api):
    docs = [
        ("n1", DOCS[0][1]),
        ("n2", "a new question"),
        ("n3", "lost parcel"),
        ("n4", "a new question"),
    ]
    r = upsert(api, docs, threshold=0.999)
    assert r.status_code == 200, r.text
    found = {d["id"]: d for d in r.json()["duplicates"]}
    assert set(found) == {"n1", "n3", "n4"}
    assert found["n1"]["duplicate_of"] == "q1" and found["n1"]["score"] == pytest.approx(
        1, abs=1e-5
    )
    assert found["n3"]["duplicate_of"] == "q2" and found["n3"]["matched_alias"] == "lost parcel"
    assert found["n4"]["duplicate_of"] == "n2" and found["n4"]["index"] == 3
    assert r.json()["upserted"] == 4 and api.get("/collections/faq").json()["size"] == 6


def test_refuse_writes_nothing_and_names_the_duplicate(api):
    seq = api.post("/collections/faq/documents", json={"documents": [{"id": "x", "text": "x y"}]})
    r = upsert(
        api, [("n1", "brand new text"), ("n2", DOCS[1][1])], action="refuse", threshold=0.999
    )
    assert r.status_code == 409
    error = r.json()["error"]
    assert (
        "documents[1] 'n2' ~ 'q2'" in error["message"] and "nothing was written" in error["message"]
    )
    assert error["param"] == "documents[1]"
    assert api.get("/collections/faq/documents/n1").status_code == 404
    assert api.get("/collections/faq").json()["size"] == 3
    # re-upserting a document with its own text is not a duplicate of itself
    r = upsert(api, [("q1", DOCS[0][1])], action="refuse", threshold=0.999)
    assert r.status_code == 200 and r.json()["duplicates"] == []
    assert r.json()["seq"] > seq.json()["seq"]


def test_threshold_defaults_to_the_calibration_and_is_checked(api):
    r = upsert(api, [("n1", "anything")])
    assert r.status_code == 422 and r.json()["error"]["param"] == "duplicates.threshold"
    assert "calibrate" in r.json()["error"]["message"]
    assert upsert(api, [("n1", "anything")], threshold=1.5).status_code == 422
    scores = [1.0] * 10 + [0.998] * 10  # threshold 0.999
    cal = api.put(
        "/collections/faq/calibration", json={"scores": scores, "labels": [1] * 10 + [0] * 10}
    )
    assert cal.status_code == 200
    r = upsert(api, [("n1", DOCS[0][1]), ("n2", "something else entirely")])
    assert r.status_code == 200 and [d["id"] for d in r.json()["duplicates"]] == ["n1"]
    plain = api.post("/collections/faq/documents", json={"documents": [{"id": "n5", "text": "q"}]})
    assert plain.json()["duplicates"] is None  # no check asked, none reported
