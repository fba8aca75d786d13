"""Training batches over sentence pairs. The pairs TSV reader is `models.corpus.read_pairs`
(re-exported here for the training code)."""

from __future__ import annotations

import numpy as np

from models.corpus import HEADER, Pairs, read_pairs

__all__ = ["HEADER", "Pairs", "epoch_batches", "interleave", "read_pairs"]


def epoch_batches(n: int, batch_size: int, seed: int, epoch: int) -> list[np.ndarray]:
    """Shuffled pair indices for one epoch, split into batches (the last may be smaller).

    The order depends only on (seed, epoch), so a resumed run sees the same batches.
    Returns a list of (<= batch_size,) int64 arrays covering range(n) exactly once.
    """
    if n < 1 or batch_size < 1:
        raise ValueError(f"need n >= 1 and batch_size >= 1, got {n}, {batch_size}")
    order = np.random.default_rng([seed, epoch]).permutation(n)
    return [order[i : i + batch_size] for i in range(0, n, batch_size)]


def interleave(pairs: Pairs, index: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Texts ``[a_i, b_i, ...]`` (2k,) and scores (k,) for the pairs at `index` (k,)."""
    texts: list[str] = []
    for i in index:
        texts += [pairs.first[i], pairs.second[i]]
    return texts, pairs.scores[index]
