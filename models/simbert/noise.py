"""Denoising examples for the generator (issue 11 item 2): corrupt a sentence, learn to write it back.

A sentence is split into units: one unit per CJK character (Chinese has no spaces, and the
Chinese vocabulary is one piece per character), one per whitespace-separated word
elsewhere. Three corruptions, in this order, each with its own probability per unit:

- drop: the unit is deleted;
- mask: the unit is replaced by the tokenizer's mask token (`[MASK]`);
- shuffle: units move at most `shuffle_span` places (sort by index + U(0, span + 1) noise,
  the local shuffle of Lample et al. 2018's unsupervised MT denoiser; span 2 by default,
  not their 3, as a unit here is often a single character).

The noisy text is the source segment and the clean text the target segment under the
UniLM mask, so the decoder learns to write fluent text that stays close to a source it
reads: the language-model half of a paraphrase, trained on every sentence of the corpus
rather than only the paired ones. Pure Python over `random.Random`; deterministic per seed.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

_IDEOGRAPH = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


@dataclass(frozen=True)
class NoiseConfig:
    drop: float = 0.1
    mask: float = 0.1
    shuffle_span: int = 2
    mask_token: str = "[MASK]"


def split_units(text: str) -> list[str]:
    """Words, with every CJK ideograph a unit of its own: '我的 card 丢了' -> 我 的 card 丢 了."""
    units: list[str] = []
    for word in text.split():
        buffer = ""
        for char in word:
            if _IDEOGRAPH.match(char):
                if buffer:
                    units.append(buffer)
                    buffer = ""
                units.append(char)
            else:
                buffer += char
        if buffer:
            units.append(buffer)
    return units


def join_units(units: list[str]) -> str:
    """Inverse of `split_units` up to spacing: no space next to an ideograph."""
    out = ""
    for unit in units:
        if out and not (_IDEOGRAPH.match(unit[0]) or _IDEOGRAPH.match(out[-1])):
            out += " "
        out += unit
    return out


def corrupt(text: str, config: NoiseConfig, rng: random.Random) -> str:
    """A corrupted copy of `text`, never equal to it when it has two or more units.

    A sentence of one unit comes back as it is (nothing to reconstruct from a lone mask).
    """
    units = split_units(text)
    if len(units) < 2:
        return text
    kept = []
    for unit in units:
        roll = rng.random()
        if roll < config.drop:
            continue
        kept.append(config.mask_token if roll < config.drop + config.mask else unit)
    if config.shuffle_span > 0:
        keys = [i + rng.uniform(0, config.shuffle_span + 1) for i in range(len(kept))]
        kept = [unit for _, unit in sorted(zip(keys, kept, strict=True), key=lambda p: p[0])]
    if not kept or kept == units:  # always something to repair: drop one unit
        kept = list(units)
        del kept[rng.randrange(len(kept))]
    return join_units(kept)
