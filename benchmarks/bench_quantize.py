"""int8 quantization of `minilm`: dynamic vs static (calibrated), next to fp32, in one run.

Same machine, same STS-B dev sentences: STS-B dev Spearman x100, cosine to the fp32
vectors, batch drift (how much a sentence's vector moves when it shares a batch), and
offline sentences/s at batch 1, 8 and 32 (length-sorted batches, 2 intra-op threads),
the median of interleaved rounds (every model at every batch size per round, order
rotated). Static int8 is calibrated on STS-B train sentences (never dev). Needs
`python -m models export-default` and ../shared/data. Writes its BENCHMARKS.md section.

    python -m benchmarks.bench_quantize [--models-dir var/models] [--rounds 3] [--no-write]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from app.engines.pooling import l2_normalize
from app.settings import BatcherSettings, ModelSettings
from benchmarks.report import table, write_section
from models.calibration import sample_sentences
from models.corpus import read_pairs, read_sentences
from models.encoding import encode_all
from models.eval_sts import sts_spearman, unique_sentences
from models.quantize import QuantMode, quantize_model

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "stsb-en"
BATCH_SIZES = (1, 8, 32)
MODELS = [
    ("minilm", "fp32"),
    ("int8-dynamic", "int8 dynamic (per-channel weights)"),
    ("int8-static", "int8 static (QDQ, calibrated, per-channel weights)"),
]


def load(models_dir: Path, name: str, threads: int):
    from app.engines.encoder import Encoder

    return Encoder.load(
        models_dir / name, ModelSettings(device="cpu", intra_op_threads=threads), BatcherSettings()
    )


def throughput(encoder, sentences: list[str], batch_size: int) -> float:
    encode_all(encoder, sentences[:32], batch_size, desc="warmup")
    start = time.perf_counter()
    encode_all(encoder, sentences, batch_size, desc=f"bs {batch_size}")
    return len(sentences) / (time.perf_counter() - start)


def batch_drift(encoder, sentences: list[str]) -> float:
    """Max abs change of normalised vectors: each of 32 sentences alone vs all 32 together."""
    sample = sentences[:32]
    together = l2_normalize(encode_all(encoder, sample, 32, desc="together"))
    alone = l2_normalize(
        np.concatenate([encode_all(encoder, [s], 1, desc="alone") for s in sample])
    )
    return float(np.abs(together - alone).max())


def speed_rounds(encoders: dict, sentences: list[str], rounds: int) -> dict[tuple[str, int], float]:
    """Median sentences/s per (model, batch size) over `rounds` interleaved rounds."""
    runs: dict[tuple[str, int], list[float]] = {}
    names = list(encoders)
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        for batch_size in BATCH_SIZES:
            for name in order:
                rate = throughput(encoders[name], sentences, batch_size)
                runs.setdefault((name, batch_size), []).append(rate)
                print(f"round {r + 1} {name} bs {batch_size}: {rate:.0f}/s", flush=True)
    return {key: statistics.median(v) for key, v in runs.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models-dir", default="var/models")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--speed-sentences", type=int, default=512, help="per speed measurement")
    parser.add_argument("--calibration-size", type=int, default=256)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    load_before = os.getloadavg()
    pairs = read_pairs(DATA / "dev.tsv")
    sentences, left, right = unique_sentences(pairs)
    calibration = sample_sentences(read_sentences(DATA / "train.tsv"), args.calibration_size)
    work = Path(tempfile.mkdtemp(prefix="bench-quantize-"))
    try:
        (work / "minilm").symlink_to(Path(args.models_dir).resolve() / "minilm")
        quantize_model(work, "minilm", "int8-dynamic", min_cosine=0.0)
        quantize_model(
            work,
            "minilm",
            "int8-static",
            min_cosine=0.0,
            mode=QuantMode.STATIC,
            calibration=calibration,
        )
        encoders = {name: load(work, name, args.threads) for name, _ in MODELS}
        fp32 = l2_normalize(encode_all(encoders["minilm"], sentences, 32))
        quality = {}
        for name, _ in MODELS:
            vectors = l2_normalize(encode_all(encoders[name], sentences, 32, desc=name))
            cosine = np.sum(vectors * fp32, axis=1)
            quality[name] = (
                sts_spearman(vectors, left, right, pairs.scores),
                f"{cosine.min():.4f} / {cosine.mean():.4f}",
                f"{batch_drift(encoders[name], sentences):.2g}",
            )
        rng = np.random.default_rng(0)
        speed_sample = [
            sentences[i] for i in rng.permutation(len(sentences))[: args.speed_sentences]
        ]
        speed = speed_rounds(encoders, speed_sample, args.rounds)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    base = quality["minilm"][0]
    rows = [
        [
            label,
            *(speed[(name, bs)] for bs in BATCH_SIZES),
            f"{quality[name][0]:.2f} ({quality[name][0] - base:+.2f})",
            quality[name][1],
            quality[name][2],
        ]
        for name, label in MODELS
    ]
    header = [
        "model",
        *(f"sent/s bs {bs}" for bs in BATCH_SIZES),
        "STS-B dev Spearman (vs fp32)",
        "cos to fp32 min / mean",
        "batch drift",
    ]
    load_after = os.getloadavg()
    body = table(header, rows) + (
        f"\n\n{len(sentences)} unique STS-B dev sentences for quality; sent/s: median of "
        f"{args.rounds} interleaved rounds over {len(speed_sample)} of them (seeded sample), "
        f"length-sorted batches, {args.threads} intra-op threads. Static int8 calibrated on "
        f"{len(calibration)} STS-B train sentences (seeded sample, batch 1). Batch drift: max "
        "abs difference of a normalised vector encoded alone vs inside a batch of 32. "
        "Load average (1/5/15 min) before "
        + "/".join(f"{x:.1f}" for x in load_before)
        + ", after "
        + "/".join(f"{x:.1f}" for x in load_after)
        + " (other jobs on the same 2 cores make sent/s noisy; compare rows, not runs)."
    )
    print(body)
    if not args.no_write:
        write_section(
            "bench-quantize",
            "int8 quantization (minilm): dynamic vs static",
            body,
            "python -m benchmarks.bench_quantize",
        )


if __name__ == "__main__":
    main()
