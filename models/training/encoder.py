"""The torch side of a served encoder: a sentence-transformers model read up to its pooling.

Vectors are the pooled output *before* any Normalize module, which is what
`app.engines.encoder.Encoder.run` serves (normalisation is a request flag there).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from sentence_transformers import SentenceTransformer

from app.engines.manifest import PoolingMode
from app.errors import InvalidInput


def load_sentence_model(folder: Path) -> SentenceTransformer:
    """A sentence-transformers folder as is; a plain HF folder gets mean pooling (ST's default)."""
    return SentenceTransformer(str(folder), device="cpu")


def served_pooling(model: SentenceTransformer) -> PoolingMode:
    """The served pooling mode of the model's Pooling module (cls or mean), else InvalidInput.

    Read from the module and passed to the exporter explicitly, whatever the saved format.
    """
    modes = [getattr(m, "pooling_mode", None) for m in model if type(m).__name__ == "Pooling"]
    if len(modes) != 1 or modes[0] not in (PoolingMode.CLS.value, PoolingMode.MEAN.value):
        raise InvalidInput(
            f"can only train a model with one cls or mean Pooling module, found {modes}"
        )
    return PoolingMode(modes[0])


def write_legacy_pooling_config(model: SentenceTransformer, folder: Path) -> None:
    """Rewrite the saved Pooling config with one boolean per mode, as sentence-transformers
    < 5 wrote it, so the checkpoint loads in every sentence-transformers version."""
    index = next(i for i, m in enumerate(model) if type(m).__name__ == "Pooling")
    modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
    path = folder / modules[index]["path"] / "config.json"
    mode = served_pooling(model)
    config = {
        "word_embedding_dimension": model.get_embedding_dimension(),
        "pooling_mode_cls_token": mode is PoolingMode.CLS,
        "pooling_mode_mean_tokens": mode is PoolingMode.MEAN,
        "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False,
    }
    path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")


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
