"""Repeated-text vector cache: Zipf query stream, cache on vs off, same run (issue 16, item 2).

    python -m benchmarks.bench_cache [--rounds 3] [--seconds 8] [--clients 8]

10,000 distinct sentences of ../shared/data (stsb-en, sick, msrp; never committed) are ranked
in a seeded random order and queried with Zipf (s = 1.1) frequencies, one sentence per
`/embed` request, over real HTTP to two `python -m app` servers (minilm from var/models): one
with `cache.enabled=true`, one with `cache.enabled=false`. Rounds interleave the two (order
alternating); the figures are medians over rounds. Also the latency of one client sending
one cached sentence (unloaded p50), and the cache's hit rate from the server's /metrics.
"""

from __future__ import annotations

import argparse
import re
import statistics
from pathlib import Path

import httpx
import numpy as np

from benchmarks.loadgen import run_load
from benchmarks.report import table, write_section
from benchmarks.sts_vectors import sentences
from tests.live_server import LiveServer

REPO = Path(__file__).resolve().parents[1]
N_DISTINCT = 10_000
ZIPF_S = 1.1
STREAM = 50_000


def zipf_stream(texts: list[str], n: int, s: float, seed: int = 0) -> list[str]:
    """`n` draws from `texts` with P(rank k) proportional to 1 / k**s (rank 1 = texts[0])."""
    ranks = np.arange(1, len(texts) + 1, dtype=np.float64)
    p = ranks**-s
    p /= p.sum()
    idx = np.random.default_rng(seed).choice(len(texts), size=n, p=p)
    return [texts[i] for i in idx]


def cache_counts(url: str) -> tuple[float, float]:
    body = httpx.get(f"{url}/metrics", timeout=10).text

    def total(name: str) -> float:
        return sum(float(v) for v in re.findall(rf"^{name}\{{[^}}]*\}} (\S+)$", body, re.M))

    return total("simserve_vector_cache_hits_total"), total("simserve_vector_cache_misses_total")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--warmup", type=float, default=10.0, help="seconds of the stream per server")
    ap.add_argument("--threads", type=int, default=2, help="onnxruntime intra-op threads")
    ap.add_argument("--models-dir", type=Path, default=REPO / "var" / "models")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()

    pool = sentences()
    order = np.random.default_rng(0).permutation(len(pool))[:N_DISTINCT]
    texts = [pool[i] for i in order]
    stream = zipf_stream(texts, STREAM, ZIPF_S)
    payloads = [{"texts": [t]} for t in stream]
    sizes = [1] * len(payloads)
    hot = [{"texts": [texts[0]]}]

    def env(enabled: bool) -> dict[str, str]:
        return {
            "SIMSERVE_MODELS__SERVE": '["minilm"]',
            "SIMSERVE_MODELS__DEFAULT": "minilm",
            "SIMSERVE_MODELS__INTRA_OP_THREADS": str(args.threads),
            "SIMSERVE_CACHE__ENABLED": "true" if enabled else "false",
        }

    results: dict[str, dict[str, list[float]]] = {
        k: {"tput": [], "p50": [], "p99": [], "one_p50": [], "errors": []} for k in ("on", "off")
    }
    with (
        LiveServer([args.models_dir], env=env(True)) as on,
        LiveServer([args.models_dir], env=env(False)) as off,
    ):
        servers = {"on": on, "off": off}
        # warm-up, the same for both: sessions, allocator, and (cache on) a steady-state cache
        for server in servers.values():
            run_load(server.url, "/embed", payloads, sizes, args.clients, args.warmup)
        for r in range(args.rounds):
            for key in ("on", "off") if r % 2 == 0 else ("off", "on"):
                url = servers[key].url
                load = run_load(url, "/embed", payloads, sizes, args.clients, args.seconds)
                one = run_load(url, "/embed", hot, [1], 1, min(args.seconds, 3))
                res = results[key]
                res["tput"].append(load.items_per_s)
                res["p50"].append(load.pct(50))
                res["p99"].append(load.pct(99))
                res["one_p50"].append(one.pct(50))
                res["errors"].append(load.errors + one.errors)
                print(
                    f"round {r + 1} cache {key}: {load.items_per_s:.0f} sentences/s, "
                    f"p50 {load.pct(50):.2f} ms; 1 client hot sentence p50 {one.pct(50):.2f} ms",
                    flush=True,
                )
        hits, misses = cache_counts(on.url)

    med = {k: {m: statistics.median(v) for m, v in res.items()} for k, res in results.items()}
    ratio = med["on"]["tput"] / med["off"]["tput"]
    rows = [
        [
            f"cache {k}",
            med[k]["tput"],
            med[k]["p50"],
            med[k]["p99"],
            med[k]["one_p50"],
            int(sum(results[k]["errors"])),
        ]
        for k in ("on", "off")
    ]
    header = [
        "server",
        f"sentences/s ({args.clients} clients, Zipf)",
        "p50 ms",
        "p99 ms",
        "1 client, repeated sentence: p50 ms",
        "errors",
    ]
    hit_rate = hits / max(hits + misses, 1)
    body = (
        f"Zipf (s = {ZIPF_S}) stream over {N_DISTINCT:,} distinct STS-B/SICK/MSRP sentences, "
        f"one sentence per `/embed` request over real HTTP, minilm fp32, {args.threads} "
        f"onnxruntime threads, two servers (cache on / off, default `cache.max_bytes`), "
        f"{args.warmup:g} s of the stream per server to warm up, then "
        f"{args.rounds} interleaved rounds of {args.seconds:g} s, medians.\n\n"
        + table(header, rows)
        + f"\n\nCache on / off throughput: **{ratio:.2f}x** (target >= 3x: "
        f"{'met' if ratio >= 3 else 'missed'}). Cached single-sentence p50: "
        f"**{med['on']['one_p50']:.2f} ms** (target <= 2 ms: "
        f"{'met' if med['on']['one_p50'] <= 2 else 'missed'}). Server-side hit rate over the "
        f"whole run (warm-up included): {hit_rate:.1%} ({hits:.0f} hits, {misses:.0f} misses). "
        "Both servers share the machine's cores but are driven one at a time.\n"
    )
    print(body)
    if not args.no_write:
        write_section(
            "bench_cache",
            "Repeated-text vector cache (Zipf query stream)",
            body,
            "python -m benchmarks.bench_cache",
        )


if __name__ == "__main__":
    main()
