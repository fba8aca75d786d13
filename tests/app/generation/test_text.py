"""Text-level shaping of candidates: keep a question a question, input variants dropped."""

from __future__ import annotations

import numpy as np
import pytest

from app.generation.text import as_question, keep_questions, question_mark, same_text, tidy


def test_question_mark_of_the_source():
    assert question_mark("How do I reset my password? ") == "?"
    assert question_mark("密码怎么重置？") == "\uff1f"
    assert question_mark("Reset my password.") is None


@pytest.mark.parametrize(
    ("candidate", "truncated", "expected"),
    [
        ("how do i reset my password?", False, "how do i reset my password?"),
        ("how do i reset my password", False, "how do i reset my password?"),
        ("how do i reset it? i forgot it", False, "how do i reset it?"),
        ("i forgot my password.", False, "i forgot my password?"),
        ('he asked " why not " .', False, 'he asked " why not?'),
        ("how do i reset my password", True, None),  # cut at the length cap: dropped
        ("how can i? and then", True, "how can i?"),
        ("?", False, None),
        ("", False, None),
        (" - . ", False, None),
        ("密码怎么重置", False, "密码怎么重置?"),
        ("密码怎么重置。", False, "密码怎么重置?"),
    ],
)
def test_as_question(candidate, truncated, expected):
    assert as_question(candidate, "?", truncated) == expected


def test_a_question_takes_the_input_s_mark():
    assert as_question("面包机哪个好?", "\uff1f") == "面包机哪个好\uff1f"
    assert as_question("面包机哪个好?还有", "\uff1f") == "面包机哪个好\uff1f"
    assert as_question("which is better\uff1f", "?") == "which is better?"


def test_keep_questions_counts_distinct_drops_and_keeps_order():
    texts = ["a b", "-", "-", "d? e", "", "cut"]
    kept, dropped = keep_questions(texts, np.array([0, 0, 0, 0, 1, 1], bool), "?")
    assert kept == ["a b?", "d?"] and dropped == 2
    assert keep_questions(texts, np.zeros(6, bool), None) == (texts, 0)
    with pytest.raises(ValueError, match="truncated"):
        keep_questions(texts, np.zeros(4, bool), "?")


def test_same_text_ignores_case_spacing_and_punctuation_only():
    assert same_text("how do i reset my password", "How do I reset my password?")
    assert same_text("don ' t", "Don't")
    assert not same_text("how do i reset the password", "How do I reset my password?")
    assert same_text("密码 怎么 重置？", "密码怎么重置")


def test_tidy_rejoins_contractions_and_cjk_but_not_quotes():
    assert tidy("i don ' t  know") == "i don't know"
    assert tidy("allen steele ' s book, i ' m sure we ' ll see") == (
        "allen steele's book, i'm sure we'll see"
    )
    assert tidy("he said , ' so what") == "he said , ' so what"
    assert tidy("密 码 怎 么 重 置 ？") == "密码怎么重置？"


def test_cjk_share_counts_ideographs_among_non_space_characters():
    from app.generation.text import cjk_share

    assert cjk_share("忘记密码怎么办？") == pytest.approx(7 / 8)
    assert cjk_share("How do I reset my password?") == 0.0
    assert cjk_share("密码 password") == pytest.approx(2 / 10)
    assert cjk_share("") == 0.0 and cjk_share("   ") == 0.0
