from __future__ import annotations

import pytest

from app.index.fusion import reciprocal_rank_fusion


def test_rrf_sums_reciprocal_ranks():
    fused = reciprocal_rank_fusion([[1, 2, 3], [3, 4]], k=60)
    scores = dict(fused)
    assert scores[3] == pytest.approx(1 / 63 + 1 / 61)
    assert scores[1] == pytest.approx(1 / 61)
    assert [i for i, _ in fused] == [3, 1, 2, 4]  # 1 (1/61) and 4 (1/62): by score


def test_rrf_ties_keep_first_appearance_and_bad_input_is_named():
    assert [i for i, _ in reciprocal_rank_fusion([[7], [8]])] == [7, 8]
    assert reciprocal_rank_fusion([[], []]) == []
    with pytest.raises(ValueError, match="distinct"):
        reciprocal_rank_fusion([[1, 1]])
    with pytest.raises(ValueError, match="k must be"):
        reciprocal_rank_fusion([[1]], k=0)
