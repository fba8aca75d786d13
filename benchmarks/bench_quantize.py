"""int8 dynamic quantization of `minilm`: per-tensor vs per-channel weights, next to fp32.

One run, same machine, same STS-B dev sentences: offline sentences/s (length-sorted batches,
2 intra-op threads), STS-B dev Spearman x100, cosine to the fp32 vectors, and how much a
sentence's int8 vector moves when it shares a batch (activation scales are per batch).
Needs `python -m models export-default` and ../shared/data. Writes its BENCHMARKS.md section.

    python -m benchmarks.bench_quantize [--models-dir var/models] [--threads 2] [--no-write]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from app.engines.pooling import l2_normalize
from app.settings import BatcherSettings, ModelSettings
from benchmarks.report import table, write_section
from models.corpus import read_pairs
from models.encoding import encode_all
from models.eval_sts import sts_spearman, unique_sentences
from models.quantize import quantize_model

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "stsb-en" / "dev.tsv"


def load(models_dir: Path, name: str, threads: int):
    from app.engines.encoder import Encoder

    return Encoder.load(
        models_dir / name, ModelSettings(device="cpu", intra_op_threads=threads), BatcherSettings()
    )


def throughput(encoder, sentences: list[str], batch_size: int) -> float:
    encode_all(encoder, sentences[:64], batch_size, desc="warmup")
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models-dir", default="var/models")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    pairs = read_pairs(DATA)
    sentences, left, right = unique_sentences(pairs)
    work = Path(tempfile.mkdtemp(prefix="bench-quantize-"))
    try:
        (work / "minilm").symlink_to(Path(args.models_dir).resolve() / "minilm")
        quantize_model(work, "minilm", "int8-tensor", per_channel=False, min_cosine=0.0)
        quantize_model(work, "minilm", "int8-channel", per_channel=True, min_cosine=0.0)
        fp32 = l2_normalize(encode_all(load(work, "minilm", args.threads), sentences, 32))
        rows = []
        for name, label in [
            ("minilm", "fp32"),
            ("int8-tensor", "int8 per-tensor weights"),
            ("int8-channel", "int8 per-channel weights (default)"),
        ]:
            enc = load(work, name, args.threads)
            vectors = l2_normalize(encode_all(enc, sentences, 32, desc=name))
            cosine = np.sum(vectors * fp32, axis=1)
            rows.append(
                [
                    label,
                    throughput(enc, sentences, 8),
                    throughput(enc, sentences, 32),
                    f"{sts_spearman(vectors, left, right, pairs.scores):.2f}",
                    f"{cosine.min():.4f} / {cosine.mean():.4f}",
                    f"{batch_drift(enc, sentences):.2g}",
                ]
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    header = [
        "model",
        "sent/s bs 8",
        "sent/s bs 32",
        "STS-B dev Spearman",
        "cos to fp32 min / mean",
        "batch drift",
    ]
    body = table(header, rows) + (
        f"\n\n{len(sentences)} unique STS-B dev sentences, length-sorted batches, "
        f"{args.threads} intra-op threads. Batch drift: max abs difference of a normalised "
        "vector encoded alone vs inside a batch of 32 (int8 activations share one scale per batch). "
        f"1-minute load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after "
        "(other jobs on the same cores make sent/s noisy; compare rows, not runs)."
    )
    print(body)
    if not args.no_write:
        write_section(
            "bench-quantize",
            "int8 quantization (minilm)",
            body,
            "python -m benchmarks.bench_quantize",
        )


if __name__ == "__main__":
    main()
