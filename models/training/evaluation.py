"""Scores for model selection: Spearman rank correlation x100 (docs/METHODS.md 2.2)."""

from __future__ import annotations

import numpy as np
from scipy.stats import spearmanr


def spearman_x100(gold: np.ndarray, predicted: np.ndarray) -> float:
    """Spearman rank correlation x100 of (N,) gold scores and (N,) predictions."""
    gold, predicted = np.asarray(gold), np.asarray(predicted)
    if gold.shape != predicted.shape or gold.ndim != 1 or gold.size < 2:
        raise ValueError(
            f"need two (N,) arrays with N >= 2, got {gold.shape} and {predicted.shape}"
        )
    value = spearmanr(gold, predicted).statistic
    return float(value * 100) if np.isfinite(value) else 0.0
