"""Vocabulary extension, pure parts: which characters are added, in what order, with what rows."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from models.bilingual.vocab import (
    choose_new_tokens,
    count_new_characters,
    is_cjk_char,
    new_embedding_rows,
    normalize_text,
)


def test_cjk_ranges_are_berts():
    assert is_cjk_char("中") and is_cjk_char("體") and is_cjk_char("\U00020000")
    assert not any(is_cjk_char(c) for c in "a?？。😀")


def test_nfkc_maps_full_width_forms_and_leaves_ascii_alone():
    assert normalize_text("ＡＢＣ１２３？，！") == "ABC123?,!"
    text = "How do I reset my password? (café, naïve)"
    assert normalize_text(text) == text


def test_counts_only_missing_cjk_and_cjk_punctuation_after_nfkc():
    vocab = {"中": 0, "?": 1, "。": 2}
    counts = count_new_characters(["中文？", "文字。", "《書》 abc 😀"], vocab)
    # "？" is "?" after NFKC (in vocab); "。" is in vocab; emoji and Latin are not CJK
    assert counts == Counter({"文": 2, "字": 1, "書": 1, "《": 1, "》": 1})


def test_new_tokens_most_frequent_first_ties_by_code_point():
    counts = Counter({"乙": 2, "甲": 2, "丙": 5, "丁": 1})
    assert choose_new_tokens(counts) == ["丙", "乙", "甲", "丁"]  # 乙 U+4E59 < 甲 U+7532
    assert choose_new_tokens(counts, min_count=2) == ["丙", "乙", "甲"]
    with pytest.raises(ValueError, match="min_count"):
        choose_new_tokens(counts, min_count=0)


def test_new_rows_are_seeded_and_centred_on_the_old_mean():
    rng = np.random.default_rng(0)
    old = (rng.standard_normal((500, 8)) * 0.05 + 0.3).astype(np.float32)
    rows = new_embedding_rows(old, 200, seed=1)
    assert rows.shape == (200, 8) and rows.dtype == np.float32
    np.testing.assert_array_equal(rows, new_embedding_rows(old, 200, seed=1))
    assert not np.array_equal(rows, new_embedding_rows(old, 200, seed=2))
    np.testing.assert_allclose(rows.mean(axis=0), old.mean(axis=0), atol=0.003)
    # spread 0.1 of the old std: far closer to the mean than any typical old row
    assert np.abs(rows - old.mean(axis=0)).max() < 0.5 * old.std(axis=0).max()
    with pytest.raises(ValueError, match="old must be"):
        new_embedding_rows(old[:1], 3, seed=0)
