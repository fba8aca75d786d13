"""`python -m models eval-sts`: Spearman x100 of cosine vs gold score through the served path.

With `--reference-st` the same sentences are also encoded by sentence-transformers from the
model's recorded source, and the command fails (exit 1) if the Spearman differs by more than
0.05 or any vector component by more than 1e-4 (issue 2's parity requirement).
"""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path
from typing import NamedTuple

import numpy as np
from scipy.stats import spearmanr

from app.engines.pooling import l2_normalize
from app.errors import InvalidInput
from models.corpus import Pairs, read_pairs
from models.encoding import encode_all, load_encoder

MAX_SPEARMAN_DIFF = 0.05
MAX_VECTOR_DIFF = 1e-4


class StsResult(NamedTuple):
    spearman: float  # x100
    n_pairs: int


class ReferenceResult(NamedTuple):
    spearman: float  # x100, sentence-transformers
    spearman_diff: float  # ours - reference
    max_abs_diff: float  # over every component of every sentence vector

    @property
    def ok(self) -> bool:
        return abs(self.spearman_diff) <= MAX_SPEARMAN_DIFF and self.max_abs_diff <= MAX_VECTOR_DIFF


def unique_sentences(pairs: Pairs) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Sentences each encoded once: (unique, index of left[i], index of right[i])."""
    unique = list(dict.fromkeys(pairs.first + pairs.second))
    where = {s: i for i, s in enumerate(unique)}
    return (
        unique,
        np.array([where[s] for s in pairs.first]),
        np.array([where[s] for s in pairs.second]),
    )


def sts_spearman(
    vectors: np.ndarray, left: np.ndarray, right: np.ndarray, scores: np.ndarray
) -> float:
    """Spearman x100 of cos(vectors[left], vectors[right]) vs scores.

    vectors (n, d) float; left, right (m,) int indices; scores (m,) float.
    """
    if vectors.ndim != 2 or left.shape != right.shape or left.shape != scores.shape:
        raise ValueError(
            f"need vectors (n,d) and equal (m,) left/right/scores, got {vectors.shape}, "
            f"{left.shape}, {right.shape}, {scores.shape}"
        )
    unit = l2_normalize(np.asarray(vectors, dtype=np.float32))
    cosine = np.sum(unit[left] * unit[right], axis=1)
    return float(spearmanr(cosine, scores).statistic * 100)


def reference_source(source: dict) -> str:
    """Where sentence-transformers can load the model's source from."""
    package = source.get("package")
    if package:
        module = importlib.import_module(package.replace("-", "_"))
        return str(module.get_model_path())
    path = source.get("path")
    if path and Path(path).exists():
        return path
    if source.get("hub_id"):
        return source["hub_id"]
    raise InvalidInput(f"the model's source {source} is not available for --reference-st")


def evaluate(models_dir, model: str, data, *, reference_st: bool = False, batch_size: int = 32):
    """Returns (StsResult, ReferenceResult | None)."""
    encoder = load_encoder(models_dir, model)
    manifest = encoder.manifest
    pairs = read_pairs(data)
    sentences, left, right = unique_sentences(pairs)
    vectors = encode_all(encoder, sentences, batch_size, desc=f"{model}")
    result = StsResult(sts_spearman(vectors, left, right, pairs.scores), len(pairs.scores))
    if not reference_st:
        return result, None
    if manifest.whitening is not None or manifest.onnx.quantization:
        raise InvalidInput(f"{model} is whitened or quantized: sentence-transformers has no equal")
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(reference_source(manifest.source), device="cpu")
    st.max_seq_length = manifest.max_length
    ref = st.encode(sentences, batch_size=batch_size, convert_to_numpy=True, show_progress_bar=True)
    served = l2_normalize(vectors) if manifest.normalize else vectors
    ref_rho = sts_spearman(ref, left, right, pairs.scores)
    diff = float(np.max(np.abs(served - ref)))
    return result, ReferenceResult(ref_rho, result.spearman - ref_rho, diff)


def run(args: argparse.Namespace) -> int:
    result, ref = evaluate(
        args.models_dir,
        args.model,
        args.data,
        reference_st=args.reference_st,
        batch_size=args.batch_size,
    )
    print(
        f"{args.model} on {args.data}: Spearman x100 = {result.spearman:.2f} ({result.n_pairs} pairs)"
    )
    if ref is None:
        return 0
    print(
        f"sentence-transformers: {ref.spearman:.2f}; difference {ref.spearman_diff:+.4f} "
        f"(max {MAX_SPEARMAN_DIFF}); max abs vector diff {ref.max_abs_diff:.3g} (max {MAX_VECTOR_DIFF:g})"
    )
    print("parity OK" if ref.ok else "parity FAILED")
    return 0 if ref.ok else 1


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval-sts", help="Spearman x100 of cosine vs score on a pairs TSV")
    p.add_argument("--model", required=True)
    p.add_argument("--data", required=True, help="TSV: sentence1<TAB>sentence2<TAB>score")
    p.add_argument("--models-dir", default="var/models")
    p.add_argument(
        "--reference-st",
        action="store_true",
        help="also encode with sentence-transformers; exit 1 if they differ",
    )
    p.add_argument("--batch-size", type=int, default=32)
    p.set_defaults(func=run)
