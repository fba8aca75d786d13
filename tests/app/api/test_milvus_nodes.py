"""Two stateless simserve nodes (real uvicorn processes) on one real Milvus server.

Writes through node A are searchable through node B at once (consistency Strong); a node
that starts with an empty data folder serves the shared collection and drops nothing; and
when A is SIGKILLed mid-stream, every write A acknowledged is readable through B (batches in
flight at the kill are all present or all absent). Neither node writes anything locally.
A drop seen across nodes is tested below HTTP (tests/app/index/test_milvus_store.py). Ledger, stream and check are those of
the single-node durability test.
"""

from __future__ import annotations

import threading

import httpx
import pytest

from tests.app.api.test_durability import Ledger, check, run_round
from tests.live_server import LiveServer


def node(tiny_models_dir, tmp_path, label: str, uri: str, namespace: str) -> LiveServer:
    env = {
        "SIMSERVE_MODELS__DEFAULT": "tiny",
        "SIMSERVE_MODELS__INTRA_OP_THREADS": "1",
        "SIMSERVE_COLLECTIONS__DATA_DIR": str(tmp_path / label),  # stays empty
        "SIMSERVE_COLLECTIONS__DEFAULT_BACKEND": "milvus",
        "SIMSERVE_COLLECTIONS__MILVUS_URI": uri,
        "SIMSERVE_COLLECTIONS__MILVUS_NAMESPACE": namespace,
    }
    return LiveServer([tiny_models_dir], env=env)


@pytest.fixture()
def nodes(tiny_models_dir, tmp_path, milvus_uri, milvus_namespace):
    a = node(tiny_models_dir, tmp_path, "a", milvus_uri, milvus_namespace)
    b = node(tiny_models_dir, tmp_path, "b", milvus_uri, milvus_namespace)
    # started side by side: a start is mostly imports, and the machine may be busy
    starts = [threading.Thread(target=n.start, kwargs={"log_path": tmp_path / f"{label}.log"})
              for n, label in ((a, "a"), (b, "b"))]  # fmt: skip
    try:
        for t in starts:
            t.start()
        for t in starts:
            t.join()
        for n in (a, b):
            n.wait_ready(1)  # raises if a start failed
        yield a, b
    finally:
        for n in (a, b):
            if n.proc is not None:
                n.stop()


def test_writes_through_a_are_served_by_b_and_survive_killing_a(nodes, tmp_path):
    a, b = nodes
    name = "shared"
    r = httpx.put(f"{a.url}/collections/{name}", json={"index": {"kind": "hnsw"}}, timeout=30)
    assert r.status_code == 201, r.text
    ledger = Ledger()
    run_round(a, name, ledger, 0, acks=80)  # SIGKILL A while its writers are sending

    # B (no local state: its data folder stays empty) serves all that A acknowledged
    check(b.url, name, ledger)
    with httpx.Client(base_url=b.url, timeout=30) as http:
        info = http.get(f"/collections/{name}").json()
        assert (info["backend"], info["index"]["kind"]) == ("milvus", "hnsw")
        # re-creating with the same config through B is a no-op, not a reset
        assert http.put(f"/collections/{name}", json={"index": {"kind": "hnsw"}}).status_code == 200
        assert http.get(f"/collections/{name}").json()["size"] == info["size"]
        # a different config is a conflict, never a silent rewrite of A's collection
        assert http.put(f"/collections/{name}", json={"index": {"kind": "flat"}}).status_code == 409

    # A restarts (with nothing local either); a write through A is visible through B at once, and a delete through B
    # at once through A
    a.start(log_path=tmp_path / "a.log")
    doc = {"id": "fresh", "text": "written through node a", "payload": {"node": "a"}}
    r = httpx.post(f"{a.url}/collections/{name}/documents", json={"documents": [doc]}, timeout=30)
    assert r.status_code == 200, r.text
    got = httpx.get(f"{b.url}/collections/{name}/documents/fresh", timeout=30)
    assert got.status_code == 200 and got.json()["payload"] == {"node": "a"}
    body = {"collection": name, "query": doc["text"], "top_k": 1, "filter": {"must": {"node": "a"}}}
    hits = httpx.post(f"{b.url}/search", json=body, timeout=30).json()["results"][0]["hits"]
    assert [h["id"] for h in hits] == ["fresh"]
    r = httpx.post(
        f"{b.url}/collections/{name}/documents/delete", json={"ids": ["fresh"]}, timeout=30
    )
    assert r.status_code == 200 and r.json()["deleted"] == 1
    assert httpx.get(f"{a.url}/collections/{name}/documents/fresh", timeout=30).status_code == 404

    # a second kill of A mid-stream: still nothing acknowledged is lost
    run_round(a, name, ledger, 1, acks=len(ledger.acked) + 80)
    check(b.url, name, ledger)
    assert not any((tmp_path / label).exists() and any((tmp_path / label).iterdir())
                   for label in ("a", "b"))  # fmt: skip
