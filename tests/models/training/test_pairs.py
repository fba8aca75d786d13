"""Pairs TSV reading (errors name file and line) and deterministic epoch batches."""

from __future__ import annotations

import numpy as np
import pytest

from app.errors import InvalidInput
from models.training.pairs import epoch_batches, interleave, read_pairs

HEADER = "sentence1\tsentence2\tscore\n"


def write(tmp_path, text: str):
    path = tmp_path / "pairs.tsv"
    path.write_text(text, encoding="utf-8")
    return path


def test_reads_pairs_with_quotes_tabs_and_blank_lines(tmp_path):
    path = write(
        tmp_path, HEADER + 'He said "hi".\t"Hi," he said.\t4.2\n\n怎么改密码\t如何修改密码\t5\n'
    )
    pairs = read_pairs(path)
    assert pairs.first == ['He said "hi".', "怎么改密码"]
    assert pairs.second == ['"Hi," he said.', "如何修改密码"]
    np.testing.assert_array_equal(pairs.scores, [4.2, 5.0])
    assert len(pairs) == 2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a\tb\tc\n", "first line must be the header"),
        (HEADER + "a\tb\t1\nonly two\tfields\n", "pairs.tsv:3: expected 3 tab-separated fields"),
        (HEADER + "a\tb\t1\nc\td\thigh\n", "pairs.tsv:3: score 'high' is not a number"),
        (HEADER + "a\tb\t1\nc\td\tnan\n", "pairs.tsv:3: score 'nan' is not finite"),
        (HEADER + "a\t \t1\nc\td\t2\n", "pairs.tsv:2: empty sentence"),
        (HEADER + "a\tb\t1\n", "need at least 2 pairs"),
    ],
)
def test_bad_files_raise_invalid_input_naming_the_line(tmp_path, text, message):
    with pytest.raises(InvalidInput, match=message):
        read_pairs(write(tmp_path, text))


def test_missing_file(tmp_path):
    with pytest.raises(InvalidInput, match="does not exist"):
        read_pairs(tmp_path / "nope.tsv")


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
    pairs = read_pairs(write(tmp_path, HEADER + "a1\tb1\t1\na2\tb2\t2\na3\tb3\t3\n"))
    texts, scores = interleave(pairs, np.array([2, 0]))
    assert texts == ["a3", "b3", "a1", "b1"]
    np.testing.assert_array_equal(scores, [3.0, 1.0])
