"""WMD / WRD rerank: cost for 20/50/100 candidates and quality vs cosine (issue 3).

    flock /tmp/simserve-heavy.lock python -m benchmarks.bench_rerank

Quality: Spearman x100 of cosine, -WMD and 1-WRD against the gold scores on
../shared/data/stsb-en/dev.tsv and sick/train.tsv, with minilm token vectors (last layer,
no [CLS]/[SEP]/padding) from this project's engine; POT `ot.emd2` exact.
Cost: 100 STS-B dev sentences as queries; candidates are each query's top-c cosine
neighbours among the STS-B train sentences; per query, `rerank(..., top_k=10)` with token
vectors already in memory (cache hit), exhaustive and with lower-bound pruning; plus the
cold-cache cost of encoding the c candidates' token vectors (one onnxruntime batch,
2 threads). p50/p99 in ms.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr
from tqdm import tqdm

from app.engines.encoder import EncodeRequest
from app.rerank.distances import RerankMethod, similarity
from app.rerank.rerank import rerank
from benchmarks.report import table, write_section
from benchmarks.sts_vectors import DATA, encode, load_encoder, read_pairs

CANDIDATES = (20, 50, 100)
N_QUERIES = 100


def quality(encoder, path: Path) -> list:
    s1, s2, gold = read_pairs(path)
    texts = list(dict.fromkeys(s1 + s2))
    vecs, toks = encode(encoder, texts, tokens=True)
    at = {t: i for i, t in enumerate(texts)}
    a, b = [at[t] for t in s1], [at[t] for t in s2]
    cos = np.einsum("ij,ij->i", vecs[a], vecs[b])
    row = [
        f"{path.parent.name}/{path.name} ({len(gold)} pairs)",
        100 * spearmanr(cos, gold).statistic,
    ]
    for method in (RerankMethod.WMD, RerankMethod.WRD):
        sims = [similarity(method, toks[i], toks[j]) for i, j in
                tqdm(zip(a, b, strict=True), total=len(a), desc=method.value)]  # fmt: skip
        row.append(100 * spearmanr(sims, gold).statistic)
    return row


def pct(values: list[float]) -> tuple[float, float]:
    return float(np.percentile(values, 50)), float(np.percentile(values, 99))


def cost(encoder) -> list[list]:
    s1, s2, _ = read_pairs(DATA / "stsb-en" / "train.tsv")
    pool = list(dict.fromkeys(s1 + s2))
    pvecs, ptoks = encode(encoder, pool, tokens=True)
    d1, d2, _ = read_pairs(DATA / "stsb-en" / "dev.tsv")
    queries = list(dict.fromkeys(d1 + d2))[:N_QUERIES]
    qvecs, qtoks = encode(encoder, queries, tokens=True)
    order = np.argsort(-(qvecs @ pvecs.T), axis=1)
    rows = []
    for c in CANDIDATES:
        enc_times = []
        for q in range(0, N_QUERIES, 5):  # cold cache: encode the candidates' tokens
            texts = [pool[i] for i in order[q, :c]]
            t = time.perf_counter()
            encoder.run([EncodeRequest(x, True) for x in encoder.tokenize(texts)])
            enc_times.append((time.perf_counter() - t) * 1000)
        enc = pct(enc_times)
        for method in RerankMethod:
            for prune in (False, True):
                times, exact = [], []
                for q in range(N_QUERIES):
                    cands = [ptoks[i] for i in order[q, :c]]
                    t = time.perf_counter()
                    res = rerank(method, qtoks[q], cands, 10, prune=prune)
                    times.append((time.perf_counter() - t) * 1000)
                    exact.append(res.n_exact)
                p50, p99 = pct(times)
                rows.append([c, method.value, "pruned" if prune else "exhaustive",
                             f"{p50:.1f}", f"{p99:.1f}", f"{np.mean(exact):.1f}",
                             f"{enc[0]:.1f}", f"{enc[1]:.1f}"])  # fmt: skip
                print(rows[-1], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models-dir", type=Path, default=Path("var/models"))
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    encoder = load_encoder(args.models_dir)
    qual = [
        quality(encoder, DATA / "stsb-en" / "dev.tsv"),
        quality(encoder, DATA / "sick" / "train.tsv"),
    ]
    for row in qual:
        print(row, flush=True)
    rows = cost(encoder)
    body = (
        "Quality: Spearman x100 against gold scores, minilm (fp32 ONNX, mean pooling), token "
        "vectors = last layer without special tokens; exact EMD (`ot.emd2`). Reference "
        "(docs/METHODS.md 7.1, STS-B *test*): cosine 82.03, WMD 75.62, WRD 80.99.\n\n"
        + table(["set", "cosine", "WMD", "WRD"], qual)
        + "\n\nCost per query, rerank to top 10 with token vectors in memory; `exact` = EMD "
        "problems solved on average (pruning by the centroid lower bounds); `encode` = cold "
        "cache, encoding the candidates' token vectors in one onnxruntime batch.\n\n"
        + table(
            [
                "candidates",
                "method",
                "mode",
                "p50 ms",
                "p99 ms",
                "exact EMDs",
                "encode p50 ms",
                "encode p99 ms",
            ],
            rows,
        )  # fmt: skip
    )
    print(body)
    if not args.no_write:
        write_section("bench-rerank", "WMD / WRD rerank: cost and quality (issue 3)", body,
                      "flock /tmp/simserve-heavy.lock python -m benchmarks.bench_rerank")  # fmt: skip


if __name__ == "__main__":
    main()
