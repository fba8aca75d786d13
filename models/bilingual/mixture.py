"""Task-homogeneous batches over a mixture of pair sets.

CoSENT only compares pairs inside one batch, and its contrast is an order of gold scores;
an ATEC 0/1 label and a Chinese STS-B 0-5 score do not share a scale, so every batch is
drawn from one task. Scores are mapped to [0, 1] per task (0/1 stays, 0-5 becomes /5) so
that the softmax (threshold 0.5) and cosine-MSE baselines use one head and one target range.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.training.pairs import Pairs


@dataclass(frozen=True)
class TaskPairs:
    name: str
    lang: str
    pairs: Pairs  # scores already in [0, 1]


@dataclass(frozen=True)
class Batch:
    task: int  # index into the mixture's tasks
    index: np.ndarray  # (<= batch_size,) int64 pair indices in that task


def unit_scores(pairs: Pairs, low: float, high: float) -> Pairs:
    """Scores mapped affinely from [low, high] to [0, 1] (clipped). Raises if high <= low."""
    if not high > low:
        raise ValueError(f"score range must have high > low, got [{low}, {high}]")
    scores = np.clip((pairs.scores - low) / (high - low), 0.0, 1.0)
    return Pairs(pairs.first, pairs.second, scores)


def epoch_plan(sizes: list[int], batch_size: int, seed: int, epoch: int) -> list[Batch]:
    """Every pair of every task once, in batches of one task, batches in a seeded order.

    sizes: pairs per task. A task's last batch may be smaller; batches of one pair are
    dropped (no order to learn from). The plan depends only on (sizes, batch_size, seed,
    epoch), so a resumed run replays it exactly.
    """
    if batch_size < 2:
        raise ValueError(f"batch_size must be >= 2, got {batch_size}")
    rng = np.random.default_rng([seed, epoch])
    batches: list[Batch] = []
    for task, size in enumerate(sizes):
        order = rng.permutation(size)
        for start in range(0, size, batch_size):
            chunk = order[start : start + batch_size]
            if len(chunk) >= 2:
                batches.append(Batch(task, chunk))
    return [batches[i] for i in rng.permutation(len(batches))]
