"""Storage faults on a real server: a corrupt docstore, a full disk (a small tmpfs).

Issue 12 item 7: one unreadable docstore stopped the whole server at start-up. Item 6: with
the disk full at checkpoint, every write answered 500 yet was stored, and after kill -9 the
server could not start (ENOSPC in replay -> checkpoint) though the docstore was intact.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from tests.hardening.helpers import collections_env, contract_problem, start_server

DIM = 32
SEEDS = 4000


def _vectors(n: int, seed: int) -> list[list[float]]:
    return np.random.default_rng(seed).normal(size=(n, DIM)).round(4).tolist()


def test_a_corrupt_docstore_is_quarantined_and_everything_else_served(tiny_models_dir, tmp_path):
    env = collections_env(tmp_path)
    srv = start_server(tiny_models_dir, log_path=tmp_path / "first.log", **env)
    with httpx.Client(base_url=srv.url, timeout=60) as http:
        for name in ("good", "bad"):
            assert http.put(f"/collections/{name}", json={}).status_code == 201
            docs = [{"id": "a", "text": "a stored question"}]
            assert http.post(f"/collections/{name}/documents", json={"documents": docs}).is_success
    assert srv.stop() == 0
    with open(tmp_path / "collections" / "bad" / "docs.sqlite", "r+b") as f:
        f.write(b"garbage, not an SQLite header" * 8)

    srv = start_server(tiny_models_dir, log_path=tmp_path / "second.log", **env)
    try:
        with httpx.Client(base_url=srv.url, timeout=60) as http:
            assert http.get("/health/ready").status_code == 200
            assert http.post("/embed", json={"texts": ["still embedding"]}).status_code == 200
            r = http.post("/search", json={"collection": "good", "query": "a question"})
            assert r.status_code == 200 and r.json()["results"][0]["hits"][0]["id"] == "a"
            listed = http.get("/collections").json()
            assert [c["name"] for c in listed["collections"]] == ["good"]
            assert [q["name"] for q in listed["quarantined"]] == ["bad"]
            assert "not a database" in listed["quarantined"][0]["error"]
            for r in (
                http.post("/search", json={"collection": "bad", "query": "q"}),
                http.get("/collections/bad"),
                http.get("/collections/bad/documents/a"),
                http.put("/collections/bad", json={}),
            ):
                assert r.status_code == 503, r.text
                assert contract_problem(r.request.url.path, 503, r.headers, r.json()) is None
                assert "'bad' is quarantined" in r.json()["error"]["message"]
            assert http.delete("/collections/bad").status_code == 200
            assert http.put("/collections/bad", json={}).status_code == 201
        assert "Traceback" not in (tmp_path / "second.log").read_text().split("quarantined")[0]
    finally:
        srv.stop()


@pytest.fixture()
def small_disk(tmp_path) -> Iterator[Path]:
    """A 6 MiB tmpfs; skipped where mounting is not allowed (not root, no CAP_SYS_ADMIN)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(disk)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def _fill(disk: Path, leave: int) -> None:
    """Fill `disk` up to `leave` free bytes."""
    with open(disk / "filler", "ab") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass
    with open(disk / "filler", "r+b") as f:
        f.truncate(max(0, (disk / "filler").stat().st_size - leave))


def test_a_full_disk_at_checkpoint_keeps_answers_true_and_the_server_startable(
    tiny_models_dir, tmp_path, small_disk
):
    env = {
        **collections_env(small_disk),
        "SIMSERVE_COLLECTIONS__CHECKPOINT_EVERY": "3",
    }
    log = tmp_path / "server.log"
    srv = start_server(tiny_models_dir, log_path=log, **env)
    url = f"{srv.url}/collections/full/documents"
    try:
        with httpx.Client(base_url=srv.url, timeout=60) as http:
            assert http.put("/collections/full", json={}).status_code == 201
            for start in range(0, SEEDS, 1000):  # a ~0.6 MB snapshot: more than what is left
                docs = [
                    {"id": f"seed{start + i}", "text": "seed", "vector": v}
                    for i, v in enumerate(_vectors(1000, start))
                ]
                assert http.post(url, json={"documents": docs}).status_code == 200
            _fill(small_disk, leave=300 * 1024)
            statuses = {}
            for i, v in enumerate(_vectors(40, 7)):
                doc = {"id": f"late{i}", "text": f"late {i}", "vector": v}
                r = http.post(url, json={"documents": [doc]})
                statuses[doc["id"]] = r.status_code
                assert r.status_code in (200, 503), r.text
                if r.status_code == 503:
                    assert contract_problem("/", 503, r.headers, r.json()) is None
            acknowledged = [d for d, s in statuses.items() if s == 200]
            assert len(acknowledged) >= 6, statuses  # checkpoints failed, writes went on
            for doc_id, status in statuses.items():  # a 503 was not applied, a 200 was
                got = http.get(f"/collections/full/documents/{doc_id}").status_code
                assert got == (200 if status == 200 else 404), (doc_id, status, got)
        assert "index checkpoint failed" in log.read_text()

        srv.kill()  # the disk is still full
        srv = start_server(tiny_models_dir, log_path=log, **env)
        with httpx.Client(base_url=srv.url, timeout=60) as http:
            assert http.get("/health/ready").status_code == 200
            assert http.get("/collections").json()["quarantined"] == []
            for doc_id in acknowledged:
                assert http.get(f"/collections/full/documents/{doc_id}").status_code == 200
            assert http.get("/collections/full").json()["size"] == SEEDS + len(acknowledged)
    finally:
        srv.stop()
