"""Crash safety: SIGKILL a real server at random points of mixed upserts and deletes.

    python -m benchmarks.crash --reps 20 --ops 1000            # the full run (tiny model)

Each repetition starts `python -m app` on the same data folder, drives `--clients`
concurrent writers (each owns its own ids, so every id has one ordered history) through
up to `--ops` upserts and deletes, and SIGKILLs the server once a random number of them
(uniform in [1, ops)) have been acknowledged, while the other writers are mid-request.
Then it restarts the server and checks every id: the document must be the last
acknowledged write, or the write that was in flight at the kill (either outcome is
allowed for that one); anything else is a lost acknowledged write. The docstore and the
FAISS index must agree (search returns exactly the stored ids) after recovery.

    python -m benchmarks.crash --two-nodes --reps 10 --ops 600   # issue 14: Milvus, 2 nodes

`--two-nodes`: collection `backend: milvus` on a real Milvus server (the embedded one of the
`milvus` extra unless `--milvus-uri`); writers send to node A only, A is SIGKILLed, and every
id is checked through node B, which was never restarted (then A restarts for the next rep).
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import sys
import tempfile
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.live_server import LiveServer

COLLECTION = "crash"
MISSING = None  # expected state of a deleted / never written id


@dataclass
class Writer:
    ids: list[str]
    acked: dict[str, str | None] = field(default_factory=dict)
    pending: dict[str, tuple[str | None]] = field(default_factory=dict)


@dataclass(frozen=True)
class TrialResult:
    acked_writes: int
    kill_after: int
    lost: int
    in_flight_applied: int
    in_flight_dropped: int
    index_mismatch: int


def _server(
    models_dir: Path, data_dir: Path, model: str, log: Path | None, extra: dict | None = None
) -> LiveServer:
    env = {
        "SIMSERVE_MODELS__DEFAULT": model,
        "SIMSERVE_MODELS__SERVE": json.dumps([model]),
        "SIMSERVE_MODELS__INTRA_OP_THREADS": "1",
        "SIMSERVE_COLLECTIONS__DATA_DIR": str(data_dir),
        "SIMSERVE_COLLECTIONS__DEFAULT_INDEX": "flat",
        "SIMSERVE_COLLECTIONS__USE_GPU": "false",
        **(extra or {}),
    }
    return LiveServer([models_dir], env=env).start(timeout=600, log_path=log)


def _write_loop(url, writer, rng, budget, counter, kill_at, fired, lock, rep):
    with httpx.Client(base_url=url, timeout=30) as http:
        for i in range(budget):
            doc_id = rng.choice(writer.ids)
            if rng.random() < 0.6:
                text = f"rep {rep} op {i} of {doc_id}"
                writer.pending[doc_id] = (text,)
                path, body = (
                    f"/collections/{COLLECTION}/documents",
                    {"documents": [{"id": doc_id, "text": text, "payload": {"op": i}}]},
                )
            else:
                text = MISSING
                writer.pending[doc_id] = (MISSING,)
                path, body = f"/collections/{COLLECTION}/documents/delete", {"ids": [doc_id]}
            try:
                r = http.post(path, json=body)
            except httpx.TransportError:
                return  # killed: this write stays pending (either outcome allowed)
            if r.status_code != 200:
                raise RuntimeError(f"write answered {r.status_code}: {r.text[:200]}")
            writer.acked[doc_id] = text
            del writer.pending[doc_id]
            with lock:
                counter[0] += 1
                if counter[0] >= kill_at and not fired.is_set():
                    fired.set()


def verify(url: str, writers: list[Writer]) -> tuple[int, int, int, int]:
    """(lost, in-flight applied, in-flight dropped, index mismatches); resolves pending."""
    lost = applied = dropped = 0
    stored: set[str] = set()
    with httpx.Client(base_url=url, timeout=30) as http:
        for w in writers:
            for doc_id in w.ids:
                r = http.get(f"/collections/{COLLECTION}/documents/{doc_id}")
                if r.status_code not in (200, 404):
                    raise RuntimeError(f"GET {doc_id}: {r.status_code} {r.text[:200]}")
                got = r.json()["text"] if r.status_code == 200 else MISSING
                if got is not MISSING:
                    stored.add(doc_id)
                expected = w.acked.get(doc_id, MISSING)
                if doc_id in w.pending:
                    (maybe,) = w.pending.pop(doc_id)
                    if got == maybe and got != expected:
                        applied += 1
                    elif got == expected and maybe != expected:
                        dropped += 1
                    elif got not in (maybe, expected):
                        lost += 1
                elif got != expected:
                    lost += 1
                w.acked[doc_id] = got  # what survived is the truth from here on
        size = http.get(f"/collections/{COLLECTION}").json()["size"]
        r = http.post(
            "/search", json={"collection": COLLECTION, "query": "rep op of", "top_k": 1000}
        )
        hits = {h["id"] for h in r.json()["results"][0]["hits"]}
    mismatch = len(hits ^ stored) + abs(size - len(stored))
    return lost, applied, dropped, mismatch


def run_trials(
    models_dir: Path, model: str, reps: int, ops: int, clients: int = 4, ids_per_client: int = 25,
    seed: int = 0, workdir: Path | None = None, progress: bool = False,
    milvus_uri: str | None = None,
) -> list[TrialResult]:  # fmt: skip
    """With `milvus_uri`: two nodes on that Milvus, writes to A, checks through B."""
    rng = random.Random(seed)
    workdir = Path(workdir or tempfile.mkdtemp(prefix="simserve-crash-"))
    data_dir, log = workdir / "collections", workdir / "server.log"
    writers = [Writer([f"w{c}-{j}" for j in range(ids_per_client)]) for c in range(clients)]
    extra = None
    if milvus_uri:
        extra = {
            "SIMSERVE_COLLECTIONS__DEFAULT_BACKEND": "milvus",
            "SIMSERVE_COLLECTIONS__MILVUS_URI": milvus_uri,
            "SIMSERVE_COLLECTIONS__MILVUS_NAMESPACE": f"crash{rng.randrange(10**9)}",
        }
    server = _server(models_dir, data_dir, model, log, extra)
    reader = _server(models_dir, workdir / "b", model, workdir / "b.log", extra) if extra else None
    r = httpx.put(f"{server.url}/collections/{COLLECTION}", json={}, timeout=30)
    if r.status_code not in (200, 201):
        raise RuntimeError(f"create collection: {r.status_code} {r.text[:200]}")
    results: list[TrialResult] = []
    try:
        for rep in range(reps):
            kill_at = rng.randrange(1, ops)
            counter, fired, lock = [0], threading.Event(), threading.Lock()
            threads = [
                threading.Thread(
                    target=_write_loop,
                    args=(
                        server.url,
                        w,
                        random.Random(rng.random()),
                        ops // clients,
                        counter,
                        kill_at,
                        fired,
                        lock,
                        rep,
                    ),  # fmt: skip
                )
                for w in writers
            ]
            for t in threads:
                t.start()
            fired.wait(600)
            server.proc.send_signal(signal.SIGKILL)
            server.proc.wait(30)
            for t in threads:
                t.join(60)
            acked = counter[0]
            if reader is not None:  # node B answers for the killed node A
                lost, applied, dropped, mismatch = verify(reader.url, writers)
            server = _server(models_dir, data_dir, model, log, extra)
            if reader is None:
                lost, applied, dropped, mismatch = verify(server.url, writers)
            results.append(TrialResult(acked, kill_at, lost, applied, dropped, mismatch))
            if progress:
                print(f"rep {rep + 1}/{reps}: {results[-1]}", flush=True)
    finally:
        server.stop()
        if reader is not None:
            reader.stop()
    return results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.crash", description=__doc__.split("\n")[0]
    )
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--ops", type=int, default=1000)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--models-dir", type=Path, default=None, help="default: a tiny random BERT")
    ap.add_argument("--model", default="tiny")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--two-nodes", action="store_true", help="Milvus, writes to A, reads via B")
    ap.add_argument("--milvus-uri", default=None, help="--two-nodes: default the embedded server")
    args = ap.parse_args(argv)
    models_dir = args.models_dir
    if models_dir is None:
        from models.export import export_model
        from tests.tiny_models import write_tiny_bert_source

        tmp = Path(tempfile.mkdtemp(prefix="simserve-crash-models-"))
        export_model(
            write_tiny_bert_source(tmp / "src"), tmp / "models", args.model, pooling="mean"
        )
        models_dir = tmp / "models"
    embedded, uri = None, args.milvus_uri
    if args.two_nodes and not uri:
        from tests.milvus_server import EmbeddedMilvus

        embedded = EmbeddedMilvus(Path(tempfile.mkdtemp(prefix="simserve-crash-milvus-")))
        uri = embedded.start()
    try:
        res = run_trials(models_dir, args.model, args.reps, args.ops, args.clients,
                         seed=args.seed, progress=True, milvus_uri=uri if args.two_nodes else None)  # fmt: skip
    finally:
        if embedded is not None:
            embedded.stop()
    totals = Counter()
    for r in res:
        totals.update(r.__dict__)
    where = "two nodes on one Milvus 2.3.5 server, writes to node A, checked through node B; "
    line = (
        (where if args.two_nodes else "")
        + f"{args.reps} SIGKILLs during {args.ops}-write runs ({args.clients} concurrent writers, "
        f"60% upserts / 40% deletes over {args.clients * 25} ids, kill after a uniform random "
        f"number of acknowledged writes): {totals['acked_writes']} writes acknowledged, "
        f"**{totals['lost']} acknowledged writes lost**, {totals['index_mismatch']} "
        f"docstore/index mismatches after recovery; of the writes in flight at the kill, "
        f"{totals['in_flight_applied']} were applied and {totals['in_flight_dropped']} dropped "
        f"(both allowed: never acknowledged)."
    )
    print(line)
    if not args.no_write:
        from benchmarks.report import write_section

        cmd = "python -m benchmarks.crash " + " ".join(sys.argv[1:])
        key, title = ("crash-nodes", "Crash safety, two nodes on Milvus") if args.two_nodes else (
            "crash", "Crash safety (SIGKILL during writes)")  # fmt: skip
        write_section(key, title, line, cmd.strip())
    return 0 if totals["lost"] == 0 and totals["index_mismatch"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
