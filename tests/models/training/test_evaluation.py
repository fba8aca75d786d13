"""spearman_x100: the model-selection score of train-cosent and its benchmark."""

from __future__ import annotations

import numpy as np
import pytest

from models.training.evaluation import spearman_x100


def test_rank_order_only():
    gold = np.array([0.0, 1.0, 2.5, 5.0])
    assert spearman_x100(gold, np.array([0.1, 0.2, 0.3, 0.9])) == pytest.approx(100.0)
    assert spearman_x100(gold, np.array([0.9, 0.3, 0.2, 0.1])) == pytest.approx(-100.0)
    # one swapped neighbour among four: 1 - 6 * 2 / (4 * 15) = 0.8
    assert spearman_x100(gold, np.array([0.2, 0.1, 0.3, 0.9])) == pytest.approx(80.0)


def test_constant_predictions_score_zero_not_nan():
    assert spearman_x100(np.array([1.0, 2.0, 3.0]), np.zeros(3)) == 0.0


@pytest.mark.parametrize(
    ("gold", "predicted"),
    [(np.zeros(3), np.zeros(4)), (np.zeros((2, 2)), np.zeros((2, 2))), (np.zeros(1), np.zeros(1))],
)
def test_shapes_are_checked(gold, predicted):
    with pytest.raises(ValueError, match="N >= 2"):
        spearman_x100(gold, predicted)
