"""The bilingual mixture's data: deterministic hash split, subsample, task-homogeneous plans."""

from __future__ import annotations

import numpy as np
import pytest

from models.bilingual.data import Part, hash_split, pair_fraction, subsample, task_by_name
from models.bilingual.mixture import epoch_plan, unit_scores
from models.training.pairs import Pairs


def make_pairs(n: int) -> Pairs:
    return Pairs([f"问题{i}" for i in range(n)], [f"问{i}题" for i in range(n)], np.arange(n) % 2.0)


def test_hash_split_is_a_partition_and_stable():
    pairs = make_pairs(2000)
    dev, train = hash_split(pairs, Part.DEV), hash_split(pairs, Part.TRAIN)
    assert len(dev) + len(train) == 2000
    assert not set(dev.first) & set(train.first)
    assert 0.15 < len(dev) / 2000 < 0.25
    # depends on the text only: the same pair lands in the same part in any file order
    reversed_pairs = Pairs(pairs.first[::-1], pairs.second[::-1], pairs.scores[::-1])
    assert set(hash_split(reversed_pairs, Part.DEV).first) == set(dev.first)
    assert pair_fraction("a", "b") == pair_fraction("a", "b") != pair_fraction("b", "a")


def test_subsample_is_seeded_and_keeps_order():
    pairs = make_pairs(100)
    small = subsample(pairs, 10, seed=3)
    assert len(small) == 10 and small.first == sorted(small.first, key=pairs.first.index)
    assert small.first == subsample(pairs, 10, seed=3).first
    assert subsample(pairs, None, 0) is pairs and subsample(pairs, 500, 0) is pairs


def test_unknown_task_lists_the_valid_ones():
    with pytest.raises(ValueError, match="atec, bq, lcqmc"):
        task_by_name("cmnli")


def test_epoch_plan_covers_each_pair_once_in_single_task_batches():
    sizes = [70, 34, 5]
    plan = epoch_plan(sizes, batch_size=16, seed=0, epoch=1)
    for task, size in enumerate(sizes):
        seen = np.concatenate([b.index for b in plan if b.task == task])
        assert sorted(seen.tolist()) == list(range(size))
    assert all(2 <= len(b.index) <= 16 for b in plan)
    again = epoch_plan(sizes, batch_size=16, seed=0, epoch=1)
    assert [(b.task, b.index.tolist()) for b in plan] == [(b.task, b.index.tolist()) for b in again]
    other = epoch_plan(sizes, batch_size=16, seed=0, epoch=2)
    assert [b.index.tolist() for b in plan] != [b.index.tolist() for b in other]
    # a task whose last batch would hold one pair drops it (no order to learn from)
    assert sum(len(b.index) for b in epoch_plan([17], 16, 0, 1)) == 16


def test_unit_scores_maps_sts_to_unit_range():
    pairs = Pairs(["a", "b"], ["c", "d"], np.array([0.0, 5.0]))
    np.testing.assert_allclose(unit_scores(pairs, 0, 5).scores, [0.0, 1.0])
    with pytest.raises(ValueError, match="high > low"):
        unit_scores(pairs, 1, 1)


def test_split_pairs_writes_what_the_recipe_reads(tmp_path):
    """split-pairs' files read back as exactly the parts the recipe trains and scores on."""
    import argparse

    from models.bilingual.data import task_by_name
    from models.split_pairs import run
    from models.training.pairs import read_pairs

    data = tmp_path / "data"
    for name in ("atec", "bq", "lcqmc", "stsb-zh", "stsb-en"):
        (data / name).mkdir(parents=True)
        rows = ["sentence1\tsentence2\tscore"]
        rows += [f'问"{i}" {name}\t答 {i}\t{i % 2}' for i in range(60)]
        for split in ("train", "dev"):
            (data / name / f"{split}.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert run(argparse.Namespace(data=str(data), out=str(tmp_path / "out"))) == 0
    for part in Part:
        expected = task_by_name("bq").load(data, part)
        written = read_pairs(tmp_path / "out" / f"bq-{part.value}.tsv")
        assert written.first == expected.first and written.second == expected.second
        np.testing.assert_array_equal(written.scores, expected.scores)
