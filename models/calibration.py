"""Calibration input for static int8 quantization: real sentences fed to the fp32 graph.

Static quantization fixes every activation's scale ahead of time from the ranges seen on
these sentences, so the served model's vector for a sentence no longer depends on what else
shares its batch (dynamic quantization picks one scale per batch at run time).
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import numpy as np

from app.engines.encoder import Encoder
from app.engines.tokenizer import pad_batch


def sample_sentences(sentences: Sequence[str], n: int, seed: int = 0) -> list[str]:
    """`n` distinct sentences drawn at random (seeded), or all of them when fewer."""
    unique = list(dict.fromkeys(s for s in sentences if s.strip()))
    if n >= len(unique):
        return unique
    return random.Random(seed).sample(unique, n)


class SentenceFeeds:
    """onnxruntime's `CalibrationDataReader` protocol over tokenized sentences.

    Each feed is one sentence alone (batch 1, no padding), so padding positions never widen
    the calibrated ranges; feeds are built with the serving code's tokenizer and padding.
    `get_next()` returns {input name: (1, T) int64} until the sentences run out, then None.
    """

    def __init__(self, encoder: Encoder, sentences: Sequence[str]):
        if not sentences:
            raise ValueError("calibration needs at least one sentence")
        self._encoder = encoder
        self._items = encoder.tokenize(list(sentences))
        self._next = 0

    def __len__(self) -> int:
        return len(self._items)

    def get_next(self) -> dict[str, np.ndarray] | None:
        if self._next >= len(self._items):
            return None
        item = self._items[self._next]
        self._next += 1
        batch = pad_batch([item], self._encoder.tokenizer.pad_id, (item.n_tokens,), item.n_tokens)
        feeds = {
            "input_ids": batch.input_ids,
            "attention_mask": batch.attention_mask,
            "token_type_ids": batch.token_type_ids,
        }
        return {name: feeds[name] for name in self._encoder.manifest.onnx.inputs}

    def rewind(self) -> None:
        self._next = 0
