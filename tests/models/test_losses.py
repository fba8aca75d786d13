"""Pair losses against hand-computed values and naive loop implementations."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from models.losses import (  # noqa: E402
    Objective,
    PairLoss,
    SoftmaxHead,
    bucket_scores,
    cosent_loss,
    cosine_mse_loss,
    pair_cosines,
    scale_scores,
    softmax_loss,
)


def naive_cosent(embeddings: np.ndarray, scores: np.ndarray, scale: float = 20.0) -> float:
    """log(1 + sum over y_ij > y_kl of exp(scale * (cos_kl - cos_ij))), written as loops."""
    cos = []
    for i in range(0, len(embeddings), 2):
        a, b = embeddings[i], embeddings[i + 1]
        cos.append(float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b))))
    total = 1.0
    for p in range(len(cos)):
        for q in range(len(cos)):
            if scores[p] > scores[q]:
                total += math.exp(scale * (cos[q] - cos[p]))
    return math.log(total)


def random_batch(n_pairs: int, hidden: int, seed: int, levels: int = 6):
    rng = np.random.default_rng(seed)
    embeddings = rng.normal(size=(2 * n_pairs, hidden))
    scores = rng.integers(0, levels, size=n_pairs).astype(np.float64)  # ties on purpose
    return embeddings, scores


def t(x) -> torch.Tensor:
    return torch.as_tensor(x, dtype=torch.float64)


def test_cosent_hand_computed_two_pairs():
    # Pair 0 is identical (cos 1), pair 1 orthogonal (cos 0).
    emb = t([[1.0, 0.0], [2.0, 0.0], [1.0, 0.0], [0.0, 3.0]])
    right_order = cosent_loss(emb, t([1.0, 0.0]))
    wrong_order = cosent_loss(emb, t([0.0, 1.0]))
    assert float(right_order) == pytest.approx(math.log1p(math.exp(-20.0)), rel=1e-12)
    assert float(wrong_order) == pytest.approx(math.log1p(math.exp(20.0)), rel=1e-12)
    assert float(cosent_loss(emb, t([2.0, 2.0]))) == 0.0  # equal labels: no order, log(1)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cosent_matches_naive_loops(seed):
    emb, scores = random_batch(n_pairs=9, hidden=7, seed=seed)
    expected = naive_cosent(emb, scores)
    got = float(cosent_loss(t(emb), t(scores)))
    assert got == pytest.approx(expected, rel=1e-10)
    scaled = float(cosent_loss(t(emb), t(scores), scale=5.0))
    assert scaled == pytest.approx(naive_cosent(emb, scores, 5.0), rel=1e-10)


def test_cosent_uses_only_the_order_of_labels():
    emb, scores = random_batch(n_pairs=12, hidden=5, seed=3)
    base = float(cosent_loss(t(emb), t(scores)))
    dense_rank = lambda s: np.unique(s, return_inverse=True)[1]  # noqa: E731 - ties kept
    for transform in (lambda s: 3 * s + 7, np.exp, lambda s: s**3 - 100, dense_rank):
        assert float(cosent_loss(t(emb), t(transform(scores)))) == pytest.approx(base, rel=1e-12)
    assert float(cosent_loss(t(emb), t(-scores))) != pytest.approx(base, rel=1e-3)


def test_cosent_invariant_to_vector_norms_and_no_in_batch_negatives():
    emb, scores = random_batch(n_pairs=6, hidden=4, seed=4)
    base = float(cosent_loss(t(emb), t(scores)))
    norms = np.random.default_rng(5).uniform(0.1, 10.0, size=(len(emb), 1))
    assert float(cosent_loss(t(emb * norms), t(scores))) == pytest.approx(base, rel=1e-10)
    # Only within-pair cosines matter: swapping a and b inside each pair changes nothing,
    # while cross-pair similarities (which in-batch negatives would use) are free to change.
    swapped = emb.reshape(-1, 2, emb.shape[1])[:, ::-1].reshape(emb.shape)
    assert float(cosent_loss(t(swapped), t(scores))) == pytest.approx(base, rel=1e-12)


def test_cosent_gradients_finite_and_correct():
    emb, scores = random_batch(n_pairs=5, hidden=3, seed=6)
    x = t(emb).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda e: cosent_loss(e, t(scores)), (x,), eps=1e-6, atol=1e-5)
    # Extreme case: perfectly wrong order at full scale, float32, and a zero vector.
    extreme = torch.tensor(
        [[1.0, 0.0], [-1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [0.0, 0.0], [0.0, 1.0]]
    )
    extreme.requires_grad_(True)
    loss = cosent_loss(extreme, torch.tensor([5.0, 0.0, 2.0]))
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(extreme.grad).all()
    assert float(loss.detach()) == pytest.approx(
        40.0, rel=1e-4
    )  # log(1 + e^40 + ...) ~ 20 * (1 - (-1))


def test_cosent_rejects_bad_shapes():
    with pytest.raises(ValueError, match="interleaved"):
        cosent_loss(torch.zeros(5, 3), torch.zeros(2))
    with pytest.raises(ValueError, match=r"scores must be \(N,\)"):
        cosent_loss(torch.zeros(6, 3), torch.zeros(2))


def test_softmax_head_matches_naive_cross_entropy():
    emb, scores = random_batch(n_pairs=7, hidden=4, seed=7)
    torch.manual_seed(0)
    head = SoftmaxHead(4, 2).double()
    classes = bucket_scores(t(scores), (2.5,))
    got = float(softmax_loss(head, t(emb), classes).detach())
    weight, bias = head.dense.weight.detach().numpy(), head.dense.bias.detach().numpy()
    total = 0.0
    for i in range(0, len(emb), 2):
        u, v = emb[i], emb[i + 1]
        logits = weight @ np.concatenate([u, v, np.abs(u - v)]) + bias
        total += -(logits[int(classes[i // 2])] - math.log(np.exp(logits).sum()))
    assert got == pytest.approx(total / (len(emb) // 2), rel=1e-10)


def test_bucket_scores_follows_label_above_threshold():
    scores = t([0.0, 2.5, 2.51, 5.0, 3.9])
    assert bucket_scores(scores, (2.5,)).tolist() == [0, 0, 1, 1, 1]
    assert bucket_scores(scores, (1.0, 3.0)).tolist() == [0, 1, 1, 2, 2]
    with pytest.raises(ValueError, match="increasing"):
        bucket_scores(scores, (3.0, 1.0))


def test_cosine_mse_matches_naive_and_scaling():
    emb, scores = random_batch(n_pairs=6, hidden=3, seed=8)
    targets = scale_scores(t(scores), 0.0, 5.0)
    np.testing.assert_allclose(targets.numpy(), np.clip(scores / 5.0, 0, 1))
    cos = pair_cosines(t(emb), targets).numpy()
    naive = np.mean([(c - y) ** 2 for c, y in zip(cos, scores / 5.0, strict=True)])
    assert float(cosine_mse_loss(t(emb), targets)) == pytest.approx(naive, rel=1e-12)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        cosine_mse_loss(t(emb), t(scores))
    with pytest.raises(ValueError, match="high > low"):
        scale_scores(t(scores), 1.0, 1.0)


def test_pair_loss_dispatches_each_objective():
    emb, scores = random_batch(n_pairs=4, hidden=3, seed=9)
    e, s = t(emb), t(scores)
    assert float(PairLoss(Objective.COSENT, 3, 0, 5, (2.5,))(e, s)) == float(cosent_loss(e, s))
    mse = PairLoss("cosine_mse", 3, 0, 5, (2.5,))(e, s)
    assert float(mse) == pytest.approx(float(cosine_mse_loss(e, scale_scores(s, 0, 5))))
    torch.manual_seed(1)
    softmax = PairLoss("softmax", 3, 0, 5, (2.5,)).double()
    assert [p.shape for p in softmax.parameters()] == [(2, 9), (2,)]
    expected = softmax_loss(softmax.head, e, bucket_scores(s, (2.5,)))
    assert float(softmax(e, s)) == pytest.approx(float(expected))
    with pytest.raises(ValueError, match="valid: cosent, softmax, cosine_mse"):
        Objective.parse("triplet")
