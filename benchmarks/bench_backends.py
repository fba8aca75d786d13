"""FAISS vs Milvus collections through HTTP (issue 14): build, upsert, /search, recall@10.

    python -m benchmarks.bench_search --backend milvus [--sizes 100000] [--milvus-uri URI]

One real server (`python -m app`, minilm) serves two HNSW collections (M=32,
efConstruction=200, ef=128) of the same documents: `backend: faiss` and `backend: milvus`
(the embedded Milvus 2.3.5 server of the `milvus` extra, started here unless --milvus-uri).
Documents carry precomputed vectors (bench_search's real + synthetic minilm vectors) and a
payload `{"g": i % 7}`, upserted 1000 per request: upsert throughput is documents/s through
HTTP; build time is the upserts plus, for Milvus, the flush and the wait until its index
covers every row. /search: 200 held-out sentences, one per request after 20 warm-up ones
(the server embeds each: distinct texts, so the vector cache never hits); p50/p99 of the
whole request and of the response's `search_ms`; recall@10 against exact inner-product
search over the same vectors; the same with a filter `g == 3` (1 in 7 documents), where
every query must return exactly 10 hits.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

import faiss
import httpx
import numpy as np

from benchmarks.report import table, write_section
from tests.live_server import LiveServer

BATCH = 1000
N_QUERIES, WARMUP = 200, 20


def _upsert(http: httpx.Client, name: str, base: np.ndarray) -> float:
    started = time.perf_counter()
    for start in range(0, len(base), BATCH):
        docs = [{"id": str(i), "text": f"document {i}", "payload": {"g": i % 7},
                 "vector": base[i].tolist()} for i in range(start, min(len(base), start + BATCH))]  # fmt: skip
        r = http.post(f"/collections/{name}/documents", json={"documents": docs})
        r.raise_for_status()
    return time.perf_counter() - started


def _wait_indexed(uri: str, namespace: str, name: str, n: int) -> None:
    from pymilvus import MilvusClient

    from app.index.milvus_catalog import milvus_name

    client = MilvusClient(uri=uri)
    mname = milvus_name(namespace, name)
    client.flush(mname)
    index = client.list_indexes(mname)[0]
    deadline = time.monotonic() + 1800  # segments under Milvus' 1024-row minimum stay unindexed
    while time.monotonic() < deadline:
        info = client.describe_index(mname, index)
        if int(info.get("indexed_rows", 0)) >= n:  # (compaction re-indexes later: not waited for)
            break
        time.sleep(0.5)
    else:
        print(f"index covers {info.get('indexed_rows')} of {n} rows after 30 min", flush=True)
    client.close()


def _search(http, name, texts, truth, flt=None) -> list[float]:
    body = {"collection": name, "top_k": 10, **({"filter": flt} if flt else {})}
    for text in texts[:WARMUP]:
        http.post("/search", json={**body, "query": text}).raise_for_status()
    wall, stage, recalls, short = [], [], [], 0
    for text, want in zip(texts[WARMUP:], truth, strict=True):
        t = time.perf_counter()
        r = http.post("/search", json={**body, "query": text})
        wall.append((time.perf_counter() - t) * 1000)
        r.raise_for_status()
        out = r.json()
        stage.append(out["timings"]["search_ms"])
        got = [int(h["id"]) for h in out["results"][0]["hits"]]
        short += len(got) < 10
        recalls.append(len(set(got) & set(want.tolist())) / 10)
    return [*np.percentile(wall, [50, 99]), *np.percentile(stage, [50, 99]),
            float(np.mean(recalls)), short]  # fmt: skip


def run(
    sizes: list[int], pool, queries, query_texts, models_dir: Path, milvus_uri: str | None
) -> str:
    from benchmarks.sts_vectors import synthetic

    rows = []
    embedded = None
    if not milvus_uri:
        from tests.milvus_server import EmbeddedMilvus

        embedded = EmbeddedMilvus(Path(tempfile.mkdtemp(prefix="bench-milvus-")))
        milvus_uri = embedded.start()
    namespace = f"bench{int(time.time())}"
    env = {
        "SIMSERVE_MODELS__SERVE": json.dumps(["minilm"]),
        "SIMSERVE_MODELS__DEFAULT": "minilm",
        "SIMSERVE_COLLECTIONS__MILVUS_URI": milvus_uri,
        "SIMSERVE_COLLECTIONS__MILVUS_NAMESPACE": namespace,
        "SIMSERVE_COLLECTIONS__USE_GPU": "false",
        "SIMSERVE_LIMITS__MAX_BODY_BYTES": str(64 * 1024 * 1024),
    }
    server = LiveServer([models_dir], env=env)
    try:
        server.start(timeout=300)
        with httpx.Client(base_url=server.url, timeout=600) as http:
            for n in sizes:
                base = pool[:n] if n <= len(pool) else np.concatenate(
                    [pool, synthetic(pool, n - len(pool))])  # fmt: skip
                exact = faiss.IndexFlatIP(base.shape[1])
                exact.add(base)
                _, truth = exact.search(queries[WARMUP:], 10)
                g3 = np.flatnonzero(np.arange(n) % 7 == 3)
                sub = faiss.IndexFlatIP(base.shape[1])
                sub.add(base[g3])
                _, tf = sub.search(queries[WARMUP:], 10)
                truth_f = g3[tf]
                for backend in ("faiss", "milvus"):
                    name = f"{backend}-{n}"
                    spec = {"kind": "hnsw", "m": 32, "ef_construction": 200, "ef_search": 128}
                    r = http.put(f"/collections/{name}", json={"backend": backend, "index": spec})
                    r.raise_for_status()
                    started = time.perf_counter()
                    up = _upsert(http, name, base)
                    if backend == "milvus":
                        _wait_indexed(milvus_uri, namespace, name, n)
                    build = time.perf_counter() - started
                    load = os.getloadavg()[0]
                    plain = _search(http, name, query_texts, truth)
                    filt = _search(http, name, query_texts, truth_f, {"must": {"g": 3}})
                    rows.append([f"{n:,}", backend, f"{build:.1f}", f"{n / up:,.0f}",
                                 *(f"{v:.1f}" for v in plain[:4]), f"{plain[4]:.3f}",
                                 *(f"{v:.1f}" for v in filt[:2]), f"{filt[4]:.3f}",
                                 int(filt[5]), f"{load:.1f}"])  # fmt: skip
                    print(rows[-1], flush=True)
                    http.delete(f"/collections/{name}")
    finally:
        server.stop()
        if embedded is not None:
            embedded.stop()
    header = ["vectors", "backend", "build s", "upsert docs/s", "/search p50 ms",
              "p99 ms", "search_ms p50", "search_ms p99", "recall@10", "filtered p50 ms",
              "filtered p99 ms", "filtered recall@10", "filtered < 10 hits", "load avg"]  # fmt: skip
    return table(header, rows)


def main_backends(args, pool, queries, query_texts) -> None:
    sizes = [int(s) for s in args.sizes.split(",")]
    body = (__doc__.split("\n\n", 2)[2] + "\n" + run(
        sizes, pool, queries, query_texts, args.models_dir, args.milvus_uri))  # fmt: skip
    print(body)
    if not args.no_write:
        command = f"python -m benchmarks.bench_search --backend milvus --sizes {args.sizes}"
        title = f"FAISS vs Milvus collections through HTTP, {args.sizes} vectors (issue 14)"
        write_section("bench-backends", title, body, command)
