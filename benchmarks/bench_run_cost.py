"""Cost of one onnxruntime run against its shape: the batcher's per-run overhead constant.

Times `Encoder.run` (pad, onnxruntime, pool: the batcher's process step) on `minilm` (fp32, 2 intra-op threads) for batches of B texts
padded to T tokens, fits seconds = a + b * (B x T) by least squares on relative error
(small runs, where the overhead shows, weigh as much as big ones), and reports a / b: the
fixed cost of a run in padded-token equivalents (`batcher.run_overhead_tokens`). Per shape
the fastest of interleaved repeats, on two clocks: wall time (what serving pays on a quiet
machine) and the process's CPU time (all onnxruntime threads; idle ones sleep, spinning is
off), which stays meaningful when other jobs hold the cores.
Writes its BENCHMARKS.md section.

    python -m benchmarks.bench_run_cost [--models-dir var/models] [--model minilm] [--no-write]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from app.engines.tokenizer import TokenizedText
from app.settings import BatcherSettings, ModelSettings
from benchmarks.report import table, write_section

BATCHES = (1, 2, 4, 8, 16, 32)
WIDTHS = (8, 16, 32, 64)


def fit_overhead(tokens: np.ndarray, seconds: np.ndarray) -> tuple[float, float]:
    """(a, b) of seconds = a + b * tokens, least squares on relative error.

    tokens, seconds: (n,) float64, seconds > 0."""
    if tokens.shape != seconds.shape or tokens.ndim != 1 or len(tokens) < 2:
        raise ValueError(f"expected two (n,) arrays, n >= 2; got {tokens.shape}, {seconds.shape}")
    if np.any(seconds <= 0):
        raise ValueError("seconds must be > 0")
    design = np.stack([np.ones_like(tokens), tokens], axis=1) / seconds[:, None]
    (a, b), *_ = np.linalg.lstsq(design, np.ones_like(seconds), rcond=None)
    return float(a), float(b)


def main() -> None:
    from app.engines.encoder import Encoder, EncodeRequest

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models-dir", default="var/models")
    parser.add_argument("--model", default="minilm")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    load_before = os.getloadavg()
    batcher = BatcherSettings(buckets=WIDTHS)
    encoder = Encoder.load(
        Path(args.models_dir) / args.model,
        ModelSettings(device="cpu", intra_op_threads=args.threads),
        batcher,
    )
    ids = encoder.tokenize(["the quick brown fox " * 40])[0].ids
    times: dict[tuple[int, int], list[tuple[float, float]]] = {}
    shapes = [(b, t) for b in BATCHES for t in WIDTHS]
    for _ in range(args.repeats + 1):  # the first pass warms every shape up, not counted
        for batch, width in shapes:
            row = np.concatenate([ids[: width - 1], ids[-1:]])  # exactly `width` tokens
            item = TokenizedText(row, width, False, np.zeros(width, dtype=bool))
            wall, cpu = time.perf_counter(), time.process_time()
            encoder.run([EncodeRequest(item)] * batch)
            times.setdefault((batch, width), []).append(
                (time.perf_counter() - wall, time.process_time() - cpu)
            )
    tokens = np.array([b * t for b, t in shapes], dtype=np.float64)
    rows, fits = [], []
    for clock, column in (("wall", 0), ("CPU", 1)):
        fastest = {shape: min(r[column] for r in v[1:]) for shape, v in times.items()}
        a, b = fit_overhead(tokens, np.array([max(fastest[s], 1e-6) for s in shapes]))
        fits.append(
            f"{clock}: a = {a * 1e3:.2f} ms, b = {b * 1e6:.2f} us per padded token, "
            f"a / b = **{a / b:.0f} padded tokens**"
        )
        rows += [
            [f"{clock} B={batch}", *(fastest[(batch, t)] * 1e3 for t in WIDTHS)]
            for batch in BATCHES
        ]
    body = (
        table(["ms per run", *(f"T={t}" for t in WIDTHS)], rows)
        + "\n\nFit seconds = a + b x (B x T), per-run overhead a / b "
        f"(`batcher.run_overhead_tokens`): {'; '.join(fits)}. "
        f"Model `{args.model}`, {args.threads} intra-op "
        f"threads, fastest of {args.repeats} interleaved repeats. Load average (1/5/15 min) "
        "before " + "/".join(f"{x:.1f}" for x in load_before) + ", after "
        "" + "/".join(f"{x:.1f}" for x in os.getloadavg()) + "."
    )
    print(body)
    if not args.no_write:
        write_section(
            "run-cost",
            f"Run cost vs batch shape ({args.model})",
            body,
            "python -m benchmarks.bench_run_cost",
        )


if __name__ == "__main__":
    main()
