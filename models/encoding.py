"""Encoding many sentences offline through the served path (`app.engines.encoder.Encoder`)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
from tqdm import tqdm

from app.engines.encoder import Encoder, EncodeRequest
from app.engines.manifest import read_manifest
from app.errors import ModelNotFound
from app.settings import BatcherSettings, ModelSettings


def load_encoder(models_dir: str | Path, name: str, device: str = "auto") -> Encoder:
    """The Encoder the server would build for `models_dir/name` (hashes verified)."""
    folder = Path(models_dir) / name
    if not (folder / "manifest.json").exists():
        found = sorted(p.name for p in Path(models_dir).glob("*/manifest.json"))
        raise ModelNotFound(f"no model {name!r} in {models_dir} (found: {found or 'none'})")
    manifest = read_manifest(folder, verify=True)
    return Encoder(folder, manifest, ModelSettings(device=device), BatcherSettings())


def pooled_batches(
    encoder: Encoder, texts: Sequence[str], batch_size: int = 32, desc: str = "encode"
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yields (indices (b,), vectors (b, dimension) float32) in length-sorted batches.

    Vectors are what `/embed` computes before normalisation (pooled, whitened if the model
    is). Sorting by token count keeps padding small; indices map rows back to `texts`.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    items = encoder.tokenize(list(texts))
    order = np.argsort([t.n_tokens for t in items], kind="stable")
    with tqdm(total=len(items), desc=desc, unit="sent") as bar:
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            results = encoder.run([EncodeRequest(items[i]) for i in idx])
            yield idx, np.stack([r.vector for r in results])
            bar.update(len(idx))


def encode_all(
    encoder: Encoder, texts: Sequence[str], batch_size: int = 32, desc: str = "encode"
) -> np.ndarray:
    """(n, dimension) float32 vectors in the order of `texts`."""
    out = np.zeros((len(texts), encoder.manifest.dimension), dtype=np.float32)
    for idx, vectors in pooled_batches(encoder, texts, batch_size, desc):
        out[idx] = vectors
    return out
