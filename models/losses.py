"""Pair objectives for fine-tuning sentence encoders (docs/METHODS.md 2.1, 2.2). Pure torch.

Every loss takes an *interleaved* batch of sentence vectors ``[a1, b1, a2, b2, ...]``,
shape (2N, H), and one gold score per pair, shape (N,). Sentence vectors are the encoder's
pooled output (not normalised); each loss normalises where its formula says so.
"""

from __future__ import annotations

from enum import StrEnum

import torch
from torch import nn
from torch.nn import functional as F

from app.enums import parse_enum

COSENT_SCALE = 20.0  # lambda; temperature 0.05 (docs/METHODS.md 2.1)
MASKED = 1e12  # subtracted from pair differences with no valid order, as in [CS-code]


class Objective(StrEnum):
    COSENT = "cosent"
    SOFTMAX = "softmax"  # Sentence-BERT classifier over concat(u, v, |u - v|)
    COSINE_MSE = "cosine_mse"

    @classmethod
    def parse(cls, value: str | Objective) -> Objective:
        return parse_enum(cls, value, "objective")


def split_pairs(
    embeddings: torch.Tensor, scores: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Split an interleaved batch into (u, v).

    embeddings: (2N, H) float; scores: (N,). Returns u = embeddings[0::2], v = embeddings[1::2],
    both (N, H). Raises ValueError on any other shape.
    """
    if embeddings.ndim != 2 or embeddings.shape[0] % 2:
        raise ValueError(
            f"embeddings must be (2N, H) interleaved pairs, got {tuple(embeddings.shape)}"
        )
    if scores.ndim != 1 or scores.shape[0] * 2 != embeddings.shape[0]:
        raise ValueError(
            f"scores must be (N,) = ({embeddings.shape[0] // 2},), got {tuple(scores.shape)}"
        )
    return embeddings[0::2], embeddings[1::2]


def pair_cosines(embeddings: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
    """cos(u_i, v_i) for each interleaved pair: (2N, H), (N,) -> (N,)."""
    u, v = split_pairs(embeddings, scores)
    return (F.normalize(u, dim=-1) * F.normalize(v, dim=-1)).sum(dim=-1)


def cosent_loss(
    embeddings: torch.Tensor, scores: torch.Tensor, scale: float = COSENT_SCALE
) -> torch.Tensor:
    r"""CoSENT loss (Su 2022; [CS-code] ``cosent_loss``).

    .. math:: L = \log\Bigl(1 + \sum_{y_{ij} > y_{kl}} e^{\lambda(\cos(u_k,u_l) - \cos(u_i,u_j))}\Bigr)

    computed as ``logsumexp({0} ∪ {λ(cos_kl − cos_ij) : y_ij > y_kl})``; orders that do not
    exist (equal or reversed labels) are pushed to −1e12 so they vanish. Only the order of
    the scores matters; there are no in-batch negatives (the unit of contrast is a pair).

    Parameters
    ----------
    embeddings : (2N, H) float, interleaved ``[a1, b1, a2, b2, ...]``; L2-normalised here.
    scores : (N,) float or int gold similarity per pair.
    scale : λ, default 20.

    Returns
    -------
    () float tensor. ``log(1) = 0`` when all scores are equal.
    """
    cos = pair_cosines(embeddings, scores) * scale
    # diff[p, q] = λ(cos_q − cos_p), valid where y_p > y_q (pair p should score higher than q).
    diff = cos[None, :] - cos[:, None]
    valid = scores[:, None] > scores[None, :]
    diff = diff - (~valid).to(diff.dtype) * MASKED
    zero = torch.zeros(1, dtype=diff.dtype, device=diff.device)
    return torch.logsumexp(torch.cat([zero, diff.flatten()]), dim=0)


def cosine_mse_loss(embeddings: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """mean((cos(u_i, v_i) − t_i)²), Sentence-BERT's regression objective.

    embeddings: (2N, H) interleaved; targets: (N,) float in [0, 1] (use `scale_scores`).
    Returns () float tensor.
    """
    if targets.numel() and (targets.min() < 0 or targets.max() > 1):
        raise ValueError("cosine-MSE targets must lie in [0, 1]; scale scores first")
    return F.mse_loss(pair_cosines(embeddings, targets), targets.to(embeddings.dtype))


def scale_scores(scores: torch.Tensor, low: float, high: float) -> torch.Tensor:
    """Affine map of scores from [low, high] to [0, 1] (STS-B 0–5 -> score / 5). (N,) -> (N,)."""
    if not high > low:
        raise ValueError(f"score range must have high > low, got [{low}, {high}]")
    scores = scores if scores.is_floating_point() else scores.to(torch.float32)
    return ((scores - low) / (high - low)).clamp(0.0, 1.0)


def bucket_scores(scores: torch.Tensor, thresholds: tuple[float, ...]) -> torch.Tensor:
    """Class index = number of thresholds strictly below the score. (N,) -> (N,) int64.

    One threshold 2.5 on STS-B gives the CoSENT post's Sentence-BERT baseline (label > 2.5).
    """
    if not thresholds or list(thresholds) != sorted(set(thresholds)):
        raise ValueError(f"thresholds must be non-empty and strictly increasing, got {thresholds}")
    edges = torch.tensor(thresholds, dtype=torch.float32, device=scores.device)
    return (scores.to(torch.float32)[:, None] > edges[None, :]).sum(dim=1)


class SoftmaxHead(nn.Module):
    """Sentence-BERT classifier: Dense(concat(u, v, |u − v|)) -> logits over classes.

    Used only for training; at inference similarity is the cosine of u and v.
    """

    def __init__(self, hidden: int, num_classes: int):
        super().__init__()
        if hidden < 1 or num_classes < 2:
            raise ValueError(f"need hidden >= 1 and num_classes >= 2, got {hidden}, {num_classes}")
        self.dense = nn.Linear(3 * hidden, num_classes)

    def forward(self, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """u, v: (N, H) -> logits (N, num_classes)."""
        return self.dense(torch.cat([u, v, (u - v).abs()], dim=-1))


def softmax_loss(
    head: SoftmaxHead, embeddings: torch.Tensor, classes: torch.Tensor
) -> torch.Tensor:
    """Cross-entropy of `head` on each pair. embeddings: (2N, H); classes: (N,) int64. -> ()."""
    u, v = split_pairs(embeddings, classes)
    return F.cross_entropy(head(u, v), classes)


class PairLoss(nn.Module):
    """One objective with what it needs from the labels, as a module (the softmax head trains).

    `low`/`high` is the score range of the training labels (cosine-MSE scaling) and
    `thresholds` the class edges for the softmax classifier; CoSENT uses neither.
    """

    def __init__(
        self,
        objective: Objective,
        hidden: int,
        low: float,
        high: float,
        thresholds: tuple[float, ...],
    ):
        super().__init__()
        self.objective = Objective.parse(objective)
        self.low, self.high, self.thresholds = float(low), float(high), tuple(thresholds)
        self.head = (
            SoftmaxHead(hidden, len(self.thresholds) + 1)
            if self.objective is Objective.SOFTMAX
            else None
        )

    def forward(self, embeddings: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        """embeddings: (2N, H) interleaved; scores: (N,) raw gold scores -> () loss."""
        if self.objective is Objective.COSENT:
            return cosent_loss(embeddings, scores)
        if self.objective is Objective.COSINE_MSE:
            return cosine_mse_loss(embeddings, scale_scores(scores, self.low, self.high))
        return softmax_loss(self.head, embeddings, bucket_scores(scores, self.thresholds))
