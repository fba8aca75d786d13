"""Search latency and recall@10 of flat vs HNSW vs IVF at 10k / 100k / 1M vectors (issue 3).

    flock /tmp/simserve-heavy.lock python -m benchmarks.bench_search [--sizes 10000,100000,1000000]
    python -m benchmarks.bench_search --backend milvus --sizes 100000   # benchmarks/bench_backends

Vectors: minilm (384-d) embeddings of every distinct STS-B / SICK / MSRP sentence
(benchmarks/sts_vectors.py); 200 of them, held out, are the queries. Beyond the real
sentences the base is grown with `synthetic` (real vector + covariance-shaped noise).
Each index is this project's `FaissIndex` (the serving wrapper: label map, search params),
`--threads` OpenMP threads (default 1, the serving default `collections.faiss_threads`). Latency: one query per call, 200 calls after 20 warm-up calls; p50/p99 in
ms. Recall@10: overlap with exact inner-product search, averaged over the queries.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import shutil
import time
from pathlib import Path

import faiss
import numpy as np
from tqdm import tqdm

from app.index.base import Backend, IndexKind, IndexSpec
from app.index.collection import Collection, CollectionConfig
from app.index.docstore import DocStore, Document
from app.index.faiss_index import FaissIndex, configure_faiss
from benchmarks.report import table, write_section
from benchmarks.sts_vectors import real_vectors, synthetic

N_QUERIES = 200
EF_SEARCH = (32, 64, 128, 256)
NPROBE = (8, 32, 128)


def nlist_for(n: int) -> int:
    return 256 if n <= 20_000 else 1024 if n <= 200_000 else 4096


def build(spec: IndexSpec, base: np.ndarray, tmp: Path) -> tuple[FaissIndex, float]:
    index = FaissIndex(spec, tmp / "unused.npz", use_gpu=False)
    started = time.perf_counter()
    step = 20_000
    for start in tqdm(range(0, len(base), step), desc=f"build {spec.kind.value}", leave=False):
        chunk = base[start : start + step]
        index.upsert(np.arange(start, start + len(chunk)), chunk)
    return index, time.perf_counter() - started


def measure(
    index: FaissIndex, queries: np.ndarray, truth: np.ndarray
) -> tuple[float, float, float]:
    for q in queries[:20]:
        index.search(q[None], 10)
    times, found = [], []
    for q in queries:
        t = time.perf_counter()
        hits = index.search(q[None], 10)
        times.append((time.perf_counter() - t) * 1000)
        found.append(hits.ids[0])
    recall = np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth, strict=True)])
    return float(np.percentile(times, 50)), float(np.percentile(times, 99)), float(recall)


def collection_row(n, hnsw, spec, base, queries, truth, tmp: Path) -> list:
    """The /search "search" stage: `Collection.search` = HNSW + hit documents from SQLite."""
    folder = tmp / f"coll-{n}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    docs = DocStore(folder / "docs.sqlite")
    iids = []
    for start in range(0, n, 20_000):
        chunk = range(start, min(n, start + 20_000))
        res = docs.upsert([Document(str(i), f"document {i}", {"g": i % 7}) for i in chunk],
                          base[start : start + len(chunk)])  # fmt: skip
        iids.append(res.iids)
    # the bench index was built with ids 0..n-1; map through the docstore's iids
    hnsw._ext = np.concatenate(iids)[hnsw._ext]
    hnsw._pos = dict(zip(hnsw._ext.tolist(), range(len(hnsw._ext)), strict=True))
    hnsw.spec = dataclasses.replace(spec, ef_search=128)
    config = CollectionConfig("bench", "minilm", Backend.FAISS, hnsw.spec, 0.0)
    coll = Collection(folder, config, docs, hnsw, checkpoint_every=10**9, overfetch=4,
                      max_fetch=16384)  # fmt: skip
    for q in queries[:20]:
        coll.search(q[None], 10)
    times, found = [], []
    for q in queries:
        t = time.perf_counter()
        hits = coll.search(q[None], 10)[0]
        times.append((time.perf_counter() - t) * 1000)
        found.append([int(h.id) for h in hits])
    recall = np.mean(
        [len(set(f) & set(t)) / 10 for f, t in zip(found, truth.tolist(), strict=True)]
    )
    docs.close()
    shutil.rmtree(folder, ignore_errors=True)
    p50, p99 = np.percentile(times, 50), np.percentile(times, 99)
    return [f"{n:,}", "hnsw via Collection.search (+SQLite docs)", "ef=128", "-",
            f"{p50:.2f}", f"{p99:.2f}", f"{recall:.3f}"]  # fmt: skip


def run_size(n: int, base: np.ndarray, queries: np.ndarray, tmp: Path, efc: int) -> list[list]:
    rows = []
    d = base.shape[1]
    flat, secs = build(IndexSpec(IndexKind.FLAT, d), base, tmp)
    exact = faiss.IndexFlatIP(d)
    exact.add(base)
    _, truth = exact.search(queries, 10)
    del exact
    p50, p99, rec = measure(flat, queries, truth)
    rows.append([f"{n:,}", "flat", "-", f"{secs:.1f}", f"{p50:.2f}", f"{p99:.2f}", f"{rec:.3f}"])
    del flat
    gc.collect()

    spec = IndexSpec(IndexKind.HNSW, d, hnsw_m=32, ef_construction=efc)
    hnsw, secs = build(spec, base, tmp)
    for ef in EF_SEARCH:
        hnsw.spec = dataclasses.replace(spec, ef_search=ef)
        p50, p99, rec = measure(hnsw, queries, truth)
        rows.append([f"{n:,}", f"hnsw M=32 efC={efc}", f"ef={ef}", f"{secs:.1f}", f"{p50:.2f}",
                     f"{p99:.2f}", f"{rec:.3f}"])  # fmt: skip
        print(rows[-1], flush=True)
    if n <= 200_000:
        rows.append(collection_row(n, hnsw, spec, base, queries, truth, tmp))
        print(rows[-1], flush=True)
    del hnsw
    gc.collect()

    nlist = nlist_for(n)
    spec = IndexSpec(IndexKind.IVF, d, nlist=nlist, nprobe=min(NPROBE))
    ivf, secs = build(spec, base, tmp)
    assert ivf.is_trained_ivf
    for nprobe in NPROBE:
        ivf.spec = dataclasses.replace(spec, nprobe=nprobe)
        p50, p99, rec = measure(ivf, queries, truth)
        rows.append([f"{n:,}", f"ivf nlist={nlist}", f"nprobe={nprobe}", f"{secs:.1f}",
                     f"{p50:.2f}", f"{p99:.2f}", f"{rec:.3f}"])  # fmt: skip
        print(rows[-1], flush=True)
    del ivf
    gc.collect()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--models-dir", type=Path, default=Path("var/models"))
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument("--section", default="bench-search", help="BENCHMARKS.md section key")
    parser.add_argument("--threads", type=int, default=1, help="OpenMP threads (serving: 1)")
    parser.add_argument("--efc", type=int, default=200, help="HNSW efConstruction")
    parser.add_argument(
        "--backend",
        choices=["faiss", "milvus"],
        default="faiss",
        help="faiss: the index comparison below; milvus: FAISS vs Milvus collections "
        "through HTTP (benchmarks/bench_backends.py)",
    )
    parser.add_argument("--milvus-uri", default=None, help="default: start the embedded server")
    parser.add_argument(
        "--efc-large", type=int, default=80, help="HNSW efConstruction above 200k vectors"
    )
    args = parser.parse_args()
    configure_faiss(args.threads)
    texts, real = real_vectors(args.models_dir)
    rng = np.random.default_rng(0)
    perm = rng.permutation(len(real))
    queries, pool = real[perm[:N_QUERIES]], real[perm[N_QUERIES:]]
    if args.backend == "milvus":
        from benchmarks.bench_backends import WARMUP, main_backends

        held_out = perm[: N_QUERIES + WARMUP]
        pool = real[perm[len(held_out) :]]
        main_backends(args, pool, real[held_out], [texts[i] for i in held_out])
        return
    tmp = Path("var/bench")
    tmp.mkdir(parents=True, exist_ok=True)
    rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        base = (
            pool[:n] if n <= len(pool) else np.concatenate([pool, synthetic(pool, n - len(pool))])
        )
        rows += run_size(n, base, queries, tmp, args.efc if n <= 200_000 else args.efc_large)
        del base
        gc.collect()
    header = ["vectors", "index", "search param", "build s", "p50 ms", "p99 ms", "recall@10"]
    body = (
        f"{len(pool):,} real minilm vectors (384-d) of distinct STS-B/SICK/MSRP sentences; "
        f"{N_QUERIES} held-out sentences as queries. Sizes above the real count are filled "
        "with synthetic vectors: a real vector plus Gaussian noise with the real set's "
        "covariance, noise norm 0.6 (cosine ~0.86 to its source). One query per call through "
        f"`FaissIndex.search` ({args.threads} OpenMP thread(s) as `collections.faiss_threads`, "
        "`distance_compute_blas_threshold=20`), top 10; "
        "recall@10 against exact inner-product search. HNSW efConstruction is lowered above "
        f"200k vectors ({args.efc_large}) to keep the 1M build within the shared machine's "
        "budget. No GPU on this machine.\n\n" + table(header, rows)
    )
    print(body)
    if not args.no_write:
        command = (
            f"flock /tmp/simserve-heavy.lock python -m benchmarks.bench_search --sizes {args.sizes}"
        )
        title = f"Vector search: flat vs HNSW vs IVF, {args.sizes} vectors (issue 3)"
        write_section(args.section, title, body, command)


if __name__ == "__main__":
    main()
