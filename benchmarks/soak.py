"""Soak: a real server at saturation for a long time; errors, p99 over time, memory growth.

    python -m benchmarks.soak --minutes 10 --models-dir var/models --model minilm

Starts `python -m app` (loopback), drives `--clients` keep-alive connections with a mix of
requests (one sentence, 8-sentence batches, the OpenAI route; STS-B sentences when
../shared/data is there, else generated ones) as fast as the server answers, and every
`--window` seconds records requests, statuses, p50/p99 latency and the server's resident
memory. Memory growth is measured from the end of the first window (allocator arenas,
onnxruntime buffers and caches fill during warm-up) to the end of the run; the pass bar is
growth < 15% and no 5xx. Prints the table, writes its section of BENCHMARKS.md, and exits
1 when the bar is missed. Wrap it in `flock /tmp/simserve-heavy.lock` on a shared machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import psutil

from benchmarks.loadgen import _read_response, encode_request
from benchmarks.report import table, write_section
from tests.live_server import LiveServer

STS = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "stsb-en" / "dev.tsv"


def sentences(limit: int = 3000) -> list[str]:
    if STS.exists():
        out = []
        for line in STS.read_text(encoding="utf-8").splitlines()[1:]:
            out.extend(line.split("\t")[:2])
        return out[:limit]
    rng = random.Random(0)
    words = "the a cat dog sat on mat quick brown fox jumps over lazy river bank money".split()
    return [" ".join(rng.choices(words, k=rng.randint(4, 30))) for _ in range(limit)]


def payloads(texts: list[str], model: str, seed: int) -> list[tuple[str, dict]]:
    rng = random.Random(seed)
    out: list[tuple[str, dict]] = []
    for i in range(400):
        kind = i % 4
        if kind in (0, 1):
            out.append(("/embed", {"texts": [rng.choice(texts)], "model": model}))
        elif kind == 2:
            out.append(("/embed", {"texts": rng.sample(texts, 8), "model": model}))
        else:
            out.append(("/v1/embeddings", {"input": rng.choice(texts), "model": model}))
    return out


class Window:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.statuses: Counter[int] = Counter()


async def client(port: int, reqs: list[bytes], stop: float, windows: list[Window], errors):
    i = 0
    while time.perf_counter() < stop:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError as exc:
            errors[type(exc).__name__] += 1
            await asyncio.sleep(0.1)
            continue
        try:
            while time.perf_counter() < stop:
                req = reqs[i % len(reqs)]
                i += 1
                t0 = time.perf_counter()
                writer.write(req)
                status, _ = await _read_response(reader)
                window = windows[-1]
                window.latencies.append((time.perf_counter() - t0) * 1000)
                window.statuses[status] += 1
        except (OSError, asyncio.IncompleteReadError) as exc:
            errors[type(exc).__name__] += 1
        finally:
            writer.close()


async def drive(port, all_reqs, clients, seconds, window_s, proc, rows, windows, errors):
    stop = time.perf_counter() + seconds
    windows.append(Window())
    tasks = [
        asyncio.create_task(client(port, all_reqs[c % len(all_reqs)], stop, windows, errors))
        for c in range(clients)
    ]
    started = time.perf_counter()
    while time.perf_counter() < stop:
        await asyncio.sleep(min(window_s, max(0.0, stop - time.perf_counter())))
        done = windows[-1]
        windows.append(Window())
        rows.append(summarise(done, time.perf_counter() - started, window_s, proc))
        print(rows[-1], flush=True)
    await asyncio.gather(*tasks)


def summarise(w: Window, at_s: float, window_s: float, proc: psutil.Process) -> dict:
    lat = np.asarray(w.latencies) if w.latencies else np.asarray([np.nan])
    return {
        "t_s": round(at_s),
        "requests": sum(w.statuses.values()),
        "rps": round(sum(w.statuses.values()) / window_s, 1),
        "statuses": dict(sorted(w.statuses.items())),
        "p50_ms": round(float(np.nanpercentile(lat, 50)), 1),
        "p99_ms": round(float(np.nanpercentile(lat, 99)), 1),
        "rss_mib": round(proc.memory_info().rss / 2**20, 1),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.soak", description=__doc__.split("\n")[0]
    )
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--window", type=float, default=60.0, help="seconds per report row")
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--models-dir", type=Path, default=Path("var/models"))
    ap.add_argument("--model", default="minilm")
    ap.add_argument("--threads", type=int, default=2, help="onnxruntime intra-op threads")
    ap.add_argument("--no-write", action="store_true", help="do not update BENCHMARKS.md")
    args = ap.parse_args(argv)

    env = {
        "SIMSERVE_MODELS__DEFAULT": args.model,
        "SIMSERVE_MODELS__SERVE": json.dumps([args.model]),
        "SIMSERVE_MODELS__INTRA_OP_THREADS": str(args.threads),
    }
    server = LiveServer([args.models_dir], env=env).start(timeout=180)
    try:
        proc = psutil.Process(server.proc.pid)
        rss_idle = proc.memory_info().rss / 2**20
        texts = sentences()
        all_reqs = [
            [encode_request("127.0.0.1", server.port, path, body) for path, body in payloads(texts, args.model, c)]
            for c in range(args.clients)
        ]  # fmt: skip
        rows: list[dict] = []
        windows: list[Window] = []
        errors: Counter[str] = Counter()
        asyncio.run(
            drive(
                server.port,
                all_reqs,
                args.clients,
                args.minutes * 60,
                args.window,
                proc,
                rows,
                windows,
                errors,
            )  # fmt: skip
        )
        rss_end = proc.memory_info().rss / 2**20
    finally:
        code = server.stop(60)
    return report(args, rows, errors, rss_idle, rss_end, code)


def report(args, rows, errors, rss_idle, rss_end, exit_code) -> int:
    totals: Counter[int] = Counter()
    for row in rows:
        totals.update(row["statuses"])
    served = sum(totals.values())
    rss_start = rows[0]["rss_mib"]
    growth = (rss_end - rss_start) / rss_start * 100
    five_xx = sum(n for s, n in totals.items() if s >= 500)
    ok = growth < 15 and five_xx == 0 and not errors and exit_code == 0
    body = table(
        ["t (s)", "requests", "req/s", "statuses", "p50 ms", "p99 ms", "RSS MiB"],
        [[r["t_s"], r["requests"], r["rps"], r["statuses"], r["p50_ms"], r["p99_ms"], r["rss_mib"]]
         for r in rows],
    )  # fmt: skip
    rates = ", ".join(f"{s}: {n} ({n / served:.3%})" for s, n in sorted(totals.items()))
    body += (
        f"\n\n{args.clients} keep-alive clients, model `{args.model}`, "
        f"{args.minutes:g} min; mix: 50% one sentence, 25% 8-sentence batch, 25% /v1/embeddings.\n"
        f"Requests served: {served}; by status: {rates}; client-side connection errors: "
        f"{dict(errors) or 0}.  \n"
        f"RSS: {rss_idle:.1f} MiB idle after start, {rss_start:.1f} MiB after the first window, "
        f"{rss_end:.1f} MiB at the end: growth {growth:+.1f}% (bar: < 15%).  \n"
        f"Server exit code after SIGTERM: {exit_code}. Verdict: {'PASS' if ok else 'FAIL'}.\n"
    )
    print(body)
    if not args.no_write:
        command = "flock /tmp/simserve-heavy.lock python -m benchmarks.soak " + " ".join(
            sys.argv[1:]
        )
        write_section("soak", "Soak at saturation", body, command.strip())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
