"""Racing several servers fairly on a shared machine: all up at once, loads interleaved.

Each round runs every load on every correct server, rotating the server order, so a
change in background load hits every contender alike; per server and load, the report
takes the median over rounds of sentences/s, p50 and p99 (errors are summed).
"""

from __future__ import annotations

import json
import math
import random
import statistics
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import NamedTuple

import numpy as np

from benchmarks import race_servers as servers
from benchmarks.race_load import LoadResult, run_load

# Vectors must match sentence-transformers before speed counts. int8 dynamic quantization
# cannot reach 0.999 (docs/METHODS.md 7.2: min cosine 0.97); it gets its own bar.
MIN_COSINE = {"fp32": 0.999, "int8": 0.97, "int8-static": 0.97}


class Load(NamedTuple):
    key: str
    label: str
    clients: int
    per_request: int


LOADS = (
    Load("a", "(a) 256-sentence requests, 2 clients", 2, 256),
    Load("b", "(b) 32 clients x 1 sentence", 32, 1),
    Load("c", "(c) 4 clients x 32 sentences", 4, 32),
)


class Contender(NamedTuple):
    spec: servers.ServerSpec
    min_cosine: float
    correct: bool
    loads: dict[str, LoadResult]
    note: str


def min_cosine(reference: np.ndarray, vectors: np.ndarray) -> float:
    """Smallest row-wise cosine between two (n, d) arrays."""
    if reference.shape != vectors.shape:
        raise ValueError(f"shape mismatch: {reference.shape} vs {vectors.shape}")
    a = reference / np.linalg.norm(reference, axis=1, keepdims=True)
    b = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    return float(np.min(np.sum(a * b, axis=1)))


def bodies(
    spec: servers.ServerSpec, sentences: list[str], per_request: int, seed: int
) -> list[bytes]:
    rng = random.Random(seed)
    return [
        json.dumps(spec.make_body(rng.sample(sentences, per_request))).encode() for _ in range(64)
    ]


def median_result(results: list[LoadResult]) -> LoadResult:
    """Median over rounds of rate and latencies; requests and errors summed."""
    if not results:
        raise ValueError("need at least one result")
    finite = [r for r in results if r.requests] or results
    return results[0]._replace(
        requests=sum(r.requests for r in results),
        errors=sum(r.errors for r in results),
        seconds=sum(r.seconds for r in results),
        sentences_per_s=statistics.median(r.sentences_per_s for r in results),
        p50_ms=statistics.median(r.p50_ms for r in finite),
        p99_ms=statistics.median(r.p99_ms for r in finite),
        first_error=next((r.first_error for r in results if r.first_error), ""),
        padding_efficiency=_median_finite([r.padding_efficiency for r in results]),
    )


def _median_finite(values: list[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return statistics.median(finite) if finite else float("nan")


def padding_efficiency(
    before: tuple[float, float] | None, after: tuple[float, float] | None
) -> float:
    """Real / padded tokens computed between two (real, padded) counter readings; NaN
    when either is missing or nothing was computed."""
    if before is None or after is None or after[1] <= before[1]:
        return float("nan")
    return (after[0] - before[0]) / (after[1] - before[1])


def race_all(
    specs: list[servers.ServerSpec],
    reference: np.ndarray,
    check_texts: list[str],
    sentences: list[str],
    seconds: float,
    rounds: int,
    log_dir: Path,
    loads: Sequence[Load] = LOADS,
    ready_timeout_s: float = 300.0,
) -> list[Contender]:
    """Start every server, check its vectors, then run ``rounds`` interleaved rounds."""
    with ExitStack() as stack:
        bases: dict[str, str] = {}
        notes: dict[str, str] = {}
        cosines: dict[str, float] = {}
        for spec in specs:
            print(f"== {spec.name}: {spec.config}", flush=True)
            try:
                base = stack.enter_context(servers.running(spec, log_dir, ready_timeout_s))
                cosines[spec.name] = min_cosine(reference, servers.embed(base, spec, check_texts))
            except (RuntimeError, TimeoutError) as exc:
                notes[spec.name] = f"could not run: {str(exc)[:300]}"
                print(f"   failed: {exc}", flush=True)
                continue
            print(f"   min cosine vs sentence-transformers: {cosines[spec.name]:.6f}", flush=True)
            if cosines[spec.name] >= MIN_COSINE[spec.precision]:
                bases[spec.name] = base
            else:
                notes[spec.name] = f"min cosine below {MIN_COSINE[spec.precision]}: not counted"
        racing = [s for s in specs if s.name in bases]
        per: dict[tuple[str, str], list[LoadResult]] = {}
        for r in range(rounds):
            order = racing[r % max(1, len(racing)) :] + racing[: r % max(1, len(racing))]
            for load in loads:
                for spec in order:
                    port = int(bases[spec.name].rsplit(":", 1)[1])
                    counts = servers.token_counts(bases[spec.name], spec)
                    result = run_load(
                        "127.0.0.1",
                        port,
                        spec.embed_path,
                        bodies(spec, sentences, load.per_request, seed=r * 10 + len(load.key)),
                        load.per_request,
                        load.clients,
                        seconds,
                        warmup_s=2.0,
                    )
                    # counted over warm-up and window alike: the batcher's cuts do not warm up
                    result = result._replace(
                        padding_efficiency=padding_efficiency(
                            counts, servers.token_counts(bases[spec.name], spec)
                        )
                    )
                    per.setdefault((spec.name, load.key), []).append(result)
                    print(
                        f"   round {r + 1} {load.key} {spec.name}: {result.sentences_per_s:.0f}/s "
                        f"p50 {result.p50_ms:.1f} p99 {result.p99_ms:.1f} err {result.errors} "
                        f"pad eff {result.padding_efficiency:.2f} "
                        f"{result.first_error[:120]}",
                        flush=True,
                    )
    return [
        Contender(
            spec,
            cosines.get(spec.name, float("nan")),
            spec.name in bases,
            {
                k: median_result(per[(spec.name, k)])
                for k in (x.key for x in loads)
                if (spec.name, k) in per
            },
            notes.get(spec.name, ""),
        )
        for spec in specs
    ]
