"""Real sentence vectors for retrieval benchmarks: minilm embeddings of STS-style sentences.

Every distinct sentence of ../shared/data {stsb-en, sick, msrp} (all splits present) is
encoded once by this project's engine (`Encoder`, fp32, L2-normalised) and cached under
var/bench/. `synthetic` grows a real set to any size (see its docstring).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from tqdm import tqdm

from app.engines.encoder import Encoder, EncodeRequest
from app.engines.pooling import l2_normalize
from app.settings import BatcherSettings, ModelSettings
from models import corpus

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
CACHE = REPO / "var" / "bench"
SETS = ("stsb-en", "sick", "msrp")


def read_pairs(path: Path) -> tuple[list[str], list[str], np.ndarray]:
    """(sentence1s, sentence2s, scores float64) through the one strict reader."""
    pairs = corpus.read_pairs(path)
    return pairs.first, pairs.second, pairs.scores


def sentences() -> list[str]:
    seen: dict[str, None] = {}
    for name in SETS:
        for path in sorted((DATA / name).glob("*.tsv")):
            a, b, _ = read_pairs(path)
            seen.update(dict.fromkeys(a + b))
    return list(seen)


def load_encoder(models_dir: Path, name: str = "minilm", threads: int = 2) -> Encoder:
    return Encoder.load(
        Path(models_dir) / name, ModelSettings(intra_op_threads=threads), BatcherSettings()
    )


def encode(encoder: Encoder, texts: list[str], *, tokens: bool = False, bs: int = 64):
    """(vectors (n, dim) unit float32, token vectors list or None), length-sorted batches."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    vecs: list[np.ndarray | None] = [None] * len(texts)
    toks: list[np.ndarray | None] = [None] * len(texts)
    for start in tqdm(range(0, len(order), bs), desc=f"encode {len(texts)}", unit="batch"):
        idx = order[start : start + bs]
        out = encoder.run(
            [EncodeRequest(t, tokens) for t in encoder.tokenize([texts[i] for i in idx])]
        )
        for i, o in zip(idx, out, strict=True):
            vecs[i], toks[i] = o.vector, o.token_vectors
    return l2_normalize(np.stack(vecs)), (toks if tokens else None)


def real_vectors(models_dir: Path) -> tuple[list[str], np.ndarray]:
    texts = sentences()
    tag = hashlib.sha1((Path(models_dir) / "minilm" / "manifest.json").read_bytes()).hexdigest()
    cache = CACHE / f"minilm-{tag[:12]}-{len(texts)}.npy"  # per exported model
    if cache.exists():
        return texts, np.load(cache)
    vectors, _ = encode(load_encoder(models_dir), texts)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(cache, vectors)
    return texts, vectors


def synthetic(real: np.ndarray, n: int, seed: int = 0, noise: float = 0.6) -> np.ndarray:
    """(n, d) unit vectors: real vector i (cycled) + Gaussian noise shaped like the real set.

    Noise is drawn from N(0, Sigma) with Sigma the covariance of the real vectors, scaled so
    its expected norm is `noise` (0.6: cosine ~0.86 to its source), so synthetic points stay
    on the real embeddings' anisotropic shape instead of the uniform sphere, where HNSW
    recall collapses (docs/METHODS.md 7.3). Generated in chunks to bound memory.
    """
    rng = np.random.default_rng(seed)
    cov = np.cov(real.T.astype(np.float64))
    evals, evecs = np.linalg.eigh(cov)
    root = (evecs * np.sqrt(np.clip(evals, 0, None))).astype(np.float32)  # cov = root root^T
    scale = noise / np.sqrt(np.trace(cov))
    out = np.empty((n, real.shape[1]), dtype=np.float32)
    for start in range(0, n, 100_000):
        m = min(100_000, n - start)
        src = real[(np.arange(start, start + m)) % len(real)]
        z = rng.standard_normal((m, real.shape[1]), dtype=np.float32)
        out[start : start + m] = l2_normalize(src + scale * (z @ root.T))
    return out
