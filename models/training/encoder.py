"""The torch side of a served encoder: a sentence-transformers model read up to its pooling.

Vectors are the pooled output *before* any Normalize module, which is what
`app.engines.encoder.Encoder.run` serves (normalisation is a request flag there).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from sentence_transformers import SentenceTransformer


def load_sentence_model(folder: Path) -> SentenceTransformer:
    """A sentence-transformers folder as is; a plain HF folder gets mean pooling (ST's default)."""
    return SentenceTransformer(str(folder), device="cpu")


def _is_normalize(module: torch.nn.Module) -> bool:
    return type(module).__name__ == "Normalize"


def embed(model: SentenceTransformer, texts: Sequence[str]) -> torch.Tensor:
    """Pooled vectors with gradients: (len(texts), H) float32, truncated to model.max_seq_length."""
    features = model.preprocess(list(texts))
    for module in model:
        if not _is_normalize(module):
            features = module(features)
    return features["sentence_embedding"]


@torch.inference_mode()
def encode(model: SentenceTransformer, texts: Sequence[str], batch_size: int = 128) -> np.ndarray:
    """Pooled vectors in eval mode, batched by length: (len(texts), H) float32."""
    was_training = model.training
    model.eval()
    order = np.argsort([len(t) for t in texts], kind="stable")
    out = np.zeros((len(texts), model.get_embedding_dimension()), dtype=np.float32)
    try:
        for start in range(0, len(texts), batch_size):
            index = order[start : start + batch_size]
            out[index] = embed(model, [texts[i] for i in index]).float().numpy()
    finally:
        model.train(was_training)
    return out


@contextmanager
def max_seq_length(model: SentenceTransformer, length: int):
    """Temporarily set the truncation length (training budget vs the saved serving length)."""
    saved = model.max_seq_length
    model.max_seq_length = length
    try:
        yield model
    finally:
        model.max_seq_length = saved
