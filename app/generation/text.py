"""Turning sampled ids back into text, and the text-level dedupe of `gen_synonyms`."""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np

# CJK ideographs, CJK punctuation and full-width forms: WordPiece decoding puts a space
# between every such character; the originals have none.
_IDEOGRAPHS = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # CJK ideographs (BMP)
_CJK = rf"\u3000-\u303f{_IDEOGRAPHS}\uff00-\uffef"
_SPACE_NEAR_CJK = re.compile(rf"(?<=[{_CJK}])\s+|\s+(?=[{_CJK}])")


# English contractions and possessives, which WordPiece decoding spaces out ("don ' t")
_CONTRACTION = re.compile(r"(?<=[^\W\d_]) ' (?=(?:s|t|re|ve|ll|d|m)\b)", re.IGNORECASE)


def tidy(text: str) -> str:
    """Collapse whitespace, drop the spaces WordPiece decoding puts around CJK characters,
    and rejoin spaced-out English contractions ("don ' t" -> "don't", "steele ' s")."""
    return _CONTRACTION.sub("'", _SPACE_NEAR_CJK.sub("", " ".join(text.split())))


_IDEOGRAPH = re.compile(rf"[{_IDEOGRAPHS}]")


def cjk_share(text: str) -> float:
    """Share of the non-space characters of `text` that are CJK ideographs (0 when empty)."""
    chars = [c for c in text if not c.isspace()]
    return sum(1 for c in chars if _IDEOGRAPH.match(c)) / len(chars) if chars else 0.0


def unique_candidates(candidates: Iterable[str], exclude: Iterable[str]) -> list[str]:
    """First occurrence order, without empties and without any text in `exclude`."""
    banned = {tidy(t) for t in exclude}
    seen: dict[str, None] = {}
    for text in candidates:
        text = tidy(text)
        if text and text not in banned:
            seen.setdefault(text, None)
    return list(seen)


QUESTION_MARKS = ("?", "\uff1f")  # ASCII and full-width
_WORD_CHAR = rf"\w{_IDEOGRAPHS}"  # letters, digits, ideographs
_TRAILING = re.compile(rf"[^{_WORD_CHAR}]+$")  # trailing punctuation and spaces
_HAS_WORD = re.compile(rf"[{_WORD_CHAR}]")


def question_mark(text: str) -> str | None:
    """The question mark `text` ends with ('?' or full-width), None when it is no question."""
    stripped = text.rstrip()
    return stripped[-1] if stripped.endswith(QUESTION_MARKS) else None


def as_question(candidate: str, mark: str, truncated: bool = False) -> str | None:
    """Keep a question a question (issue 11): the candidate as a question, or None to drop it.

    Ends with a question mark: kept, the mark written as the input's (a Chinese question
    keeps its full-width '？'; the NFKC tokenizer reads both as '?'). Has one earlier: cut
    after the last one (what follows is a second sentence). None at all: completed, i.e.
    trailing punctuation ('.', '!', quotes, ...) is replaced by `mark` ("nasa found water
    on mars." -> "... mars?"; the demo generator, trained mostly on news statements, rarely
    writes '?'), unless the candidate was cut at the length cap (an unfinished sentence:
    dropped) or has no word.
    """
    text = candidate.rstrip()
    last = max(text.rfind(m) for m in QUESTION_MARKS)
    if last >= 0:
        kept = text[:last] + mark
        return kept if _HAS_WORD.search(kept) else None
    if truncated or not _HAS_WORD.search(text):
        return None
    return _TRAILING.sub("", text) + mark


def text_key(text: str) -> str:
    """Case-, space- and punctuation-blind form of a text (letters, digits, ideographs)."""
    return "".join(re.findall(rf"[{_WORD_CHAR}]+", text.casefold())).replace("_", "")


def same_text(a: str, b: str) -> bool:
    """True when `a` and `b` differ only in case, spacing or punctuation."""
    return text_key(a) == text_key(b)


def keep_questions(
    texts: list[str], truncated: np.ndarray, mark: str | None
) -> tuple[list[str], int]:
    """`as_question` over candidates ((n,) texts, (n,) bool truncated); mark None: unchanged.

    Returns (the kept candidates in order, how many distinct non-empty ones were dropped).
    """
    if mark is None:
        return list(texts), 0
    if len(texts) != len(truncated):
        raise ValueError(f"{len(texts)} texts but {len(truncated)} truncated flags")
    shaped = [as_question(t, mark, bool(cut)) for t, cut in zip(texts, truncated, strict=True)]
    dropped = len({t for t, q in zip(texts, shaped, strict=True) if t and q is None})
    return [q for q in shaped if q is not None], dropped
