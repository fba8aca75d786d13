"""Sentence pooling over encoder outputs (docs/METHODS.md 1.2). Pure numpy, inputs never mutated.

Shapes: B = batch, T = padded sequence length, H = hidden size. Padding positions have
attention_mask == 0 and are excluded from every mean; [CLS] and [SEP] are included.
"""

from __future__ import annotations

import numpy as np

from app.engines.manifest import PoolingMode


def _check_hidden(name: str, hidden: np.ndarray, mask: np.ndarray) -> None:
    if hidden.ndim != 3:
        raise ValueError(f"{name} must be (batch, seq, hidden), got shape {hidden.shape}")
    if mask.shape != hidden.shape[:2]:
        raise ValueError(f"attention_mask must be {hidden.shape[:2]}, got {mask.shape}")


def masked_mean(hidden: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
    """Mean over non-padding tokens.

    hidden: (B, T, H) float; attention_mask: (B, T) int/bool, 1 = real token.
    Returns (B, H) float32. A row with no real token yields zeros (never NaN).
    """
    _check_hidden("hidden", hidden, attention_mask)
    weights = attention_mask.astype(np.float32)[:, :, None]
    summed = (hidden.astype(np.float32, copy=False) * weights).sum(axis=1)
    counts = np.maximum(weights.sum(axis=1), 1e-9)
    return (summed / counts).astype(np.float32, copy=False)


def cls_vector(hidden: np.ndarray) -> np.ndarray:
    """First position ([CLS]) of the last layer. hidden: (B, T, H) -> (B, H) float32."""
    if hidden.ndim != 3:
        raise ValueError(f"hidden must be (batch, seq, hidden), got shape {hidden.shape}")
    return np.array(hidden[:, 0, :], dtype=np.float32)


def first_last_avg(
    first_layer: np.ndarray, last_layer: np.ndarray, attention_mask: np.ndarray
) -> np.ndarray:
    """(masked_mean(first transformer layer) + masked_mean(last layer)) / 2.

    first_layer is hidden_states[1] (output of the first encoder layer), NOT the embeddings.
    Both (B, T, H); attention_mask (B, T). Returns (B, H) float32.
    """
    if first_layer.shape != last_layer.shape:
        raise ValueError(f"layer shapes differ: {first_layer.shape} vs {last_layer.shape}")
    return (masked_mean(first_layer, attention_mask) + masked_mean(last_layer, attention_mask)) / 2


def pool(
    mode: PoolingMode,
    attention_mask: np.ndarray,
    last_hidden_state: np.ndarray,
    first_layer_hidden_state: np.ndarray | None = None,
    pooler_dense: np.ndarray | None = None,
) -> np.ndarray:
    """Dispatch on the pooling mode. Returns (B, H) float32.

    pooler_dense (B, H) is the linear pooler output computed inside the ONNX graph.
    """
    if mode is PoolingMode.MEAN:
        return masked_mean(last_hidden_state, attention_mask)
    if mode is PoolingMode.CLS:
        return cls_vector(last_hidden_state)
    if mode is PoolingMode.FIRST_LAST_AVG:
        if first_layer_hidden_state is None:
            raise ValueError("first_last_avg needs the first layer's hidden state output")
        return first_last_avg(first_layer_hidden_state, last_hidden_state, attention_mask)
    if mode is PoolingMode.POOLER:
        if pooler_dense is None:
            raise ValueError("pooler pooling needs the pooler_dense output")
        if pooler_dense.ndim != 2:
            raise ValueError(f"pooler_dense must be (batch, hidden), got {pooler_dense.shape}")
        return np.array(pooler_dense, dtype=np.float32)
    raise ValueError(f"unknown pooling mode {mode!r}")


def l2_normalize(vectors: np.ndarray, eps: float = 1e-8) -> np.ndarray:
    """Rows scaled to unit L2 norm (norm clipped at eps). (N, D) -> (N, D) float32."""
    if vectors.ndim != 2:
        raise ValueError(f"vectors must be (n, dim), got shape {vectors.shape}")
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, eps)).astype(np.float32, copy=False)
