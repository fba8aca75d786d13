"""Deterministic epoch batches and interleaving (the pairs reader: tests/models/test_corpus.py)."""

from __future__ import annotations

import numpy as np
import pytest

from models.training.pairs import epoch_batches, interleave, read_pairs

HEADER = "sentence1\tsentence2\tscore\n"


def test_epoch_batches_cover_every_pair_once_and_depend_only_on_seed_and_epoch():
    batches = epoch_batches(10, 4, seed=3, epoch=1)
    assert [len(b) for b in batches] == [4, 4, 2]
    assert sorted(np.concatenate(batches).tolist()) == list(range(10))
    again = epoch_batches(10, 4, seed=3, epoch=1)
    assert all(np.array_equal(a, b) for a, b in zip(batches, again, strict=True))
    other_epoch = np.concatenate(epoch_batches(10, 4, seed=3, epoch=2))
    assert not np.array_equal(np.concatenate(batches), other_epoch)
    with pytest.raises(ValueError, match="batch_size >= 1"):
        epoch_batches(10, 0, seed=0, epoch=1)


def test_interleave_puts_each_pair_side_by_side(tmp_path):
    path = tmp_path / "pairs.tsv"
    path.write_text(HEADER + "a1\tb1\t1\na2\tb2\t2\na3\tb3\t3\n", encoding="utf-8")
    pairs = read_pairs(path)
    texts, scores = interleave(pairs, np.array([2, 0]))
    assert texts == ["a3", "b3", "a1", "b1"]
    np.testing.assert_array_equal(scores, [3.0, 1.0])
