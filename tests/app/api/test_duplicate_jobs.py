"""The duplicates clusters job: scan, clusters, merge into aliases (one transaction), cancel,
a restart marks a running job failed (TestClient, tiny real model, real SQLite and FAISS)."""

from __future__ import annotations

import threading
import time

import pytest
from fastapi.testclient import TestClient

from app.api.app import create_app
from app.services.duplicate_jobs import DuplicateJob, JobStatus
from tests.app.api.conftest import faq_client

DOCS = [
    {"id": "q1", "text": "how do I reset my password"},
    {"id": "q2", "text": "how do I reset my password", "aliases": ["lost my login"]},
    {"id": "q3", "text": "how do I reset my password"},
    {"id": "q4", "text": "where is my parcel"},
]


@pytest.fixture()
def settings(faq_settings):
    return faq_settings


@pytest.fixture()
def api(settings):
    with faq_client(settings, DOCS) as client:  # q1 is the oldest
        yield client


def finished(api, job_id: str) -> dict:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        job = api.get(f"/collections/faq/duplicates/{job_id}").json()
        if job["status"] != "running":
            return job
        time.sleep(0.05)
    raise AssertionError("job did not finish")


def test_clusters_then_merge_into_aliases_survives_restart(api, settings):
    r = api.post("/collections/faq/duplicates", json={"threshold": 0.999})
    assert r.status_code == 202, r.text
    job = finished(api, r.json()["id"])
    assert job["status"] == "done" and job["done"] == job["total"] == 4
    assert len(job["clusters"]) == 1
    cluster = job["clusters"][0]
    assert cluster["canonical"] == "q1"
    assert [m["id"] for m in cluster["members"]] == ["q2", "q3"]
    assert all(m["score"] == pytest.approx(1, abs=1e-5) for m in cluster["members"])

    r = api.post(f"/collections/faq/duplicates/{job['id']}/merge")
    assert r.status_code == 200 and r.json()["merged"] == 2 and r.json()["status"] == "merged"
    assert api.post(f"/collections/faq/duplicates/{job['id']}/merge").status_code == 409
    doc = api.get("/collections/faq/documents/q1").json()
    assert sorted(doc["aliases"]) == sorted([DOCS[0]["text"], DOCS[0]["text"], "lost my login"])
    assert api.get("/collections/faq/documents/q2").status_code == 404
    assert api.get("/collections/faq").json()["size"] == 2
    body = {"collection": "faq", "query": "lost my login", "top_k": 5}
    hits = api.post("/search", json=body).json()["results"][0]["hits"]
    assert [h["id"] for h in hits] == ["q1", "q4"]  # each document once
    words = {**body, "query": "login", "mode": "lexical"}  # the moved alias' words
    lexical = api.post("/search", json=words).json()["results"][0]["hits"]
    assert [h["id"] for h in lexical] == ["q1"]

    api.__exit__(None, None, None)
    with TestClient(create_app(settings)) as again:
        assert again.get(f"/collections/faq/duplicates/{job['id']}").json()["status"] == "merged"
        hits = again.post("/search", json=body).json()["results"][0]["hits"]
        assert [h["id"] for h in hits] == ["q1", "q4"]
        assert again.get("/collections/faq").json()["size"] == 2


def test_a_job_running_at_a_restart_is_reported_failed(api, settings):
    coll = api.app.state.container.collections.store.get("faq")
    stale = DuplicateJob("abc", "faq", 0.9, 10, 100, total=4, boot="an-earlier-run")
    coll.set_meta("duplicates_job", stale.to_dict())
    api.__exit__(None, None, None)
    with TestClient(create_app(settings)) as again:
        job = again.get("/collections/faq/duplicates/abc").json()
        assert job["status"] == "failed" and "stopped" in job["error"]
        assert again.post("/collections/faq/duplicates/abc/merge").status_code == 409
        assert again.get("/collections/faq").json()["size"] == 4


def test_cancel_and_bad_input(api):
    jobs = api.app.state.container.duplicate_jobs
    coll = api.app.state.container.collections.store.get("faq")
    job = DuplicateJob("c1", "faq", 0.9, 10, 100, total=4, boot=jobs.boot)
    cancel = threading.Event()
    cancel.set()
    jobs._run(coll, job, cancel)
    assert job.status is JobStatus.CANCELLED and job.clusters == []

    assert (
        api.post("/collections/faq/duplicates", json={"threshold": 0.9, "k": 0}).status_code == 422
    )
    r = api.post("/collections/faq/duplicates", json={})
    assert r.status_code == 422 and "calibrate" in r.json()["error"]["message"]
    assert api.get("/collections/faq/duplicates/nope").status_code == 404
    assert api.post("/collections/nope/duplicates", json={"threshold": 0.9}).status_code == 404
    r = api.post("/collections/faq/duplicates", json={"threshold": 0.999})
    job = finished(api, r.json()["id"])
    r = api.delete(f"/collections/faq/duplicates/{job['id']}")  # finished: nothing to cancel
    assert r.status_code == 200 and r.json()["status"] == "done"
