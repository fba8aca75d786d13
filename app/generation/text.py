"""Turning sampled ids back into text, and the text-level dedupe of `gen_synonyms`."""

from __future__ import annotations

import re
from collections.abc import Iterable

# CJK ideographs, CJK punctuation and full-width forms: WordPiece decoding puts a space
# between every such character; the originals have none.
_CJK = r"\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"
_SPACE_NEAR_CJK = re.compile(rf"(?<=[{_CJK}])\s+|\s+(?=[{_CJK}])")


def tidy(text: str) -> str:
    """Collapse whitespace and drop the spaces WordPiece decoding puts around CJK characters."""
    return _SPACE_NEAR_CJK.sub("", " ".join(text.split()))


def unique_candidates(candidates: Iterable[str], exclude: Iterable[str]) -> list[str]:
    """First occurrence order, without empties and without any text in `exclude`."""
    banned = {tidy(t) for t in exclude}
    seen: dict[str, None] = {}
    for text in candidates:
        text = tidy(text)
        if text and text not in banned:
            seen.setdefault(text, None)
    return list(seen)
