"""Extend an English WordPiece vocabulary with the CJK characters of a Chinese corpus.

Chinese is split one character per token, as BERT does (`BertNormalizer` with
`handle_chinese_chars` puts spaces around every CJK ideograph), so a Chinese vocabulary is
a set of single characters. Existing tokens keep their ids and their embedding rows; new
characters get ids after the last one and rows drawn around the mean of the old rows.

Normalisation: NFKC runs before BERT's normaliser in the extended tokenizer, so full-width
forms (`？`, `，`, `ＡＢＣ`, `１２３`) read as their ASCII twins and compatibility ideographs
as their unified characters; it changes nothing in plain ASCII text, which is why English
ids are untouched (tests/models/bilingual/test_vocab.py checks both).
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Iterable

import numpy as np

# The CJK ranges of BERT's `_is_chinese_char` (the characters it splits one by one).
CJK_RANGES = (
    (0x4E00, 0x9FFF),
    (0x3400, 0x4DBF),
    (0x20000, 0x2A6DF),
    (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F),
    (0x2B820, 0x2CEAF),
    (0xF900, 0xFAFF),
    (0x2F800, 0x2FA1F),
)
# CJK punctuation that NFKC keeps as is (it maps the full-width ASCII forms itself).
CJK_PUNCTUATION = frozenset("。、《》〈〉「」『』【】〔〕〖〗“”‘’…—～·")


def is_cjk_char(char: str) -> bool:
    """True for one character in BERT's CJK ideograph ranges."""
    code = ord(char)
    return any(low <= code <= high for low, high in CJK_RANGES)


def normalize_text(text: str) -> str:
    """The NFKC step the extended tokenizer applies first (same function, for counting)."""
    return unicodedata.normalize("NFKC", text)


def count_new_characters(texts: Iterable[str], vocab: dict[str, int]) -> Counter:
    """Occurrences of each CJK character or CJK punctuation mark absent from `vocab`.

    Counted after NFKC, on the lowercased text, i.e. on what the tokenizer will look up.
    """
    counts: Counter = Counter()
    for text in texts:
        for char in normalize_text(text).lower():
            if (is_cjk_char(char) or char in CJK_PUNCTUATION) and char not in vocab:
                counts[char] += 1
    return counts


def choose_new_tokens(counts: Counter, min_count: int = 1) -> list[str]:
    """Characters seen at least `min_count` times, most frequent first, ties by code point."""
    if min_count < 1:
        raise ValueError(f"min_count must be >= 1, got {min_count}")
    kept = [char for char, n in counts.items() if n >= min_count]
    return sorted(kept, key=lambda c: (-counts[c], ord(c)))


def new_embedding_rows(old: np.ndarray, n_new: int, seed: int, spread: float = 0.1) -> np.ndarray:
    """Rows for new tokens: mean of the old rows + Gaussian noise of `spread` x their std.

    old: (V, H) float embedding matrix; returns (n_new, H) of the same dtype. Drawn around the
    mean so that a new character starts as an average token, not as an outlier that dominates
    mean pooling; the noise keeps them distinguishable for the first gradient steps.
    """
    if old.ndim != 2 or old.shape[0] < 2:
        raise ValueError(f"old must be (V >= 2, H), got {old.shape}")
    if n_new < 0:
        raise ValueError(f"n_new must be >= 0, got {n_new}")
    rng = np.random.default_rng(seed)
    mean, std = old.mean(axis=0), old.std(axis=0)
    noise = rng.standard_normal((n_new, old.shape[1]))
    return (mean + spread * std * noise).astype(old.dtype)
