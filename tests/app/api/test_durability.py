"""SIGKILL durability: every acknowledged write survives, nothing unacknowledged appears.

The real server runs as a subprocess; client threads stream upserts (and some deletes) of
uniquely named documents; the server is killed with SIGKILL mid-stream, restarted, streamed
to and killed again, then restarted and checked. A batch in flight at the kill may or may not
have committed, but only whole: its ids are all present or all absent.
"""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from tests.live_server import LiveServer

BATCH = 4
THREADS = 3


class Ledger:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.acked: dict[str, str] = {}  # id -> text, upsert answered 2xx
        self.deleted: set[str] = set()  # delete answered 2xx
        self.in_flight: list[list[str]] = []  # batches sent without an answer
        self.in_flight_deletes: set[str] = set()
        self.counter = 0

    def next_batch(self, round_: int) -> list[tuple[str, str]]:
        with self.lock:
            start, self.counter = self.counter, self.counter + BATCH
        return [(f"r{round_}-{i}", f"document number {i} of round {round_}")
                for i in range(start, start + BATCH)]  # fmt: skip


def stream(url: str, name: str, ledger: Ledger, round_: int, stop: threading.Event) -> None:
    with httpx.Client(base_url=url, timeout=30) as http:
        n = 0
        while not stop.is_set():
            n += 1
            if n % 5 == 0:
                with ledger.lock:
                    victims = sorted(set(ledger.acked) - ledger.deleted)[:2]
                    ledger.in_flight_deletes.update(victims)
                try:
                    r = http.post(f"/collections/{name}/documents/delete", json={"ids": victims})
                except httpx.HTTPError:
                    return
                if r.status_code == 200:
                    with ledger.lock:
                        ledger.deleted.update(victims)
                        ledger.in_flight_deletes.difference_update(victims)
                continue
            batch = ledger.next_batch(round_)
            body = {"documents": [{"id": i, "text": t, "payload": {"r": round_}} for i, t in batch]}
            try:
                r = http.post(f"/collections/{name}/documents", json=body)
            except httpx.HTTPError:
                with ledger.lock:
                    ledger.in_flight.append([i for i, _ in batch])
                return
            assert r.status_code == 200, r.text
            with ledger.lock:
                ledger.acked.update(batch)


def run_round(server: LiveServer, name: str, ledger: Ledger, round_: int, acks: int) -> None:
    stop = threading.Event()
    workers = [
        threading.Thread(target=stream, args=(server.url, name, ledger, round_, stop))
        for _ in range(THREADS)
    ]
    for w in workers:
        w.start()
    deadline = time.monotonic() + 120
    while len(ledger.acked) < acks and time.monotonic() < deadline:
        time.sleep(0.01)
    server.kill()  # SIGKILL while the workers are still sending
    stop.set()
    for w in workers:
        w.join(60)


@pytest.mark.parametrize("backend", ["faiss", "milvus"])
def test_acknowledged_writes_survive_sigkill(backend, tiny_models_dir, tmp_path, request):
    env = {
        "SIMSERVE_MODELS__DEFAULT": "tiny",
        "SIMSERVE_MODELS__INTRA_OP_THREADS": "1",
        "SIMSERVE_COLLECTIONS__DATA_DIR": str(tmp_path / "data"),
        "SIMSERVE_COLLECTIONS__DEFAULT_BACKEND": backend,
        # small, so kills also land around index checkpoints and replay has work to do
        "SIMSERVE_COLLECTIONS__CHECKPOINT_EVERY": "40",
    }
    if backend == "milvus":  # the session's real Milvus server (tests/conftest.py)
        env["SIMSERVE_COLLECTIONS__MILVUS_URI"] = request.getfixturevalue("milvus_uri")
        env["SIMSERVE_COLLECTIONS__MILVUS_NAMESPACE"] = request.getfixturevalue("milvus_namespace")
    server = LiveServer([tiny_models_dir], env=env)
    log = tmp_path / "server.log"
    server.start(log_path=log)
    name = "durable"
    r = httpx.put(f"{server.url}/collections/{name}", json={"index": {"kind": "flat"}}, timeout=30)
    assert r.status_code == 201, r.text
    ledger = Ledger()
    run_round(server, name, ledger, 0, acks=120)
    server.start(log_path=log)
    run_round(server, name, ledger, 1, acks=260)
    server.start(log_path=log)
    try:
        check(server.url, name, ledger)
    finally:
        server.stop()


def check(url: str, name: str, ledger: Ledger) -> None:
    with httpx.Client(base_url=url, timeout=60) as http:
        size = http.get(f"/collections/{name}").json()["size"]
        present = {}
        candidates = set(ledger.acked) | {i for b in ledger.in_flight for i in b}
        for doc_id in sorted(candidates):
            r = http.get(f"/collections/{name}/documents/{doc_id}")
            assert r.status_code in (200, 404), r.text
            if r.status_code == 200:
                present[doc_id] = r.json()["text"]
        must_exist = set(ledger.acked) - ledger.deleted - ledger.in_flight_deletes
        missing = must_exist - set(present)
        assert not missing, f"acknowledged but lost: {sorted(missing)[:10]}"
        resurrected = ledger.deleted & set(present)
        assert not resurrected, f"acknowledged deletes undone: {sorted(resurrected)[:10]}"
        for doc_id in must_exist:
            assert present[doc_id] == ledger.acked[doc_id]
        for batch in ledger.in_flight:  # unacknowledged: all or nothing, never a part
            assert len({i in present for i in batch}) == 1, batch
        # nothing else exists: the size counts only documents we sent
        assert size == len(present)
        # the index agrees with the docstore: each stored text finds itself first
        texts = sorted(present.values())
        for start in range(0, len(texts), 32):
            chunk = texts[start : start + 32]
            res = http.post("/search", json={"collection": name, "queries": chunk, "top_k": 1})
            assert res.status_code == 200, res.text
            for text, result in zip(chunk, res.json()["results"], strict=True):
                assert result["hits"][0]["text"] == text
