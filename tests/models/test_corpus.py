"""The one pairs TSV reader (`models.corpus.read_pairs`): strict, errors name file and line."""

from __future__ import annotations

import numpy as np
import pytest

from app.errors import InvalidInput
from models import corpus
from models.corpus import read_pairs, read_sentences
from models.training import pairs as training_pairs

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


def test_every_caller_reads_pairs_through_the_same_function(tmp_path):
    from benchmarks import sts_vectors

    assert training_pairs.read_pairs is corpus.read_pairs
    path = write(tmp_path, HEADER + "a\tb\t1\nc\td\t2\n")
    first, second, scores = sts_vectors.read_pairs(path)
    assert (first, second) == (["a", "c"], ["b", "d"])
    np.testing.assert_array_equal(scores, [1.0, 2.0])
    with pytest.raises(InvalidInput, match="pairs.tsv:3: score 'x' is not a number"):
        sts_vectors.read_pairs(write(tmp_path, HEADER + "a\tb\t1\nc\td\tx\n"))


def test_sentences_of_a_pairs_tsv_keep_row_order_and_duplicates_with_the_same_checks(tmp_path):
    path = write(tmp_path, HEADER + "a\tb\t1\nb\tc\t2\n")
    assert read_sentences(path) == ["a", "b", "b", "c"]
    with pytest.raises(InvalidInput, match="pairs.tsv:3: empty sentence"):
        read_sentences(write(tmp_path, HEADER + "a\tb\t1\n\tc\t2\n"))
