"""A deterministic fake encoder behind the real `ServedModel` / `EmbeddingService` seams.

Services are tested below HTTP with it, as infinity tests its engine against a fake model:
no onnxruntime, no batcher thread, every batcher submission recorded.

The fake's vector of a text is a hashed bag of its lower-cased words ((DIM,) float32, not
normalised), so texts sharing words have a higher cosine; its token vectors are the
per-word rows of that bag (one (DIM,) row per word).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from app.engines.encoder import EncodedText, EncodeRequest
from app.engines.manifest import ModelKind, ModelManifest, PoolingMode
from app.engines.registry import ModelRegistry, ServedModel
from app.engines.tokenizer import TokenizedText
from app.settings import BatcherSettings, ModelSettings

DIM = 16


def word_id(word: str) -> int:
    return 1000 + zlib.crc32(word.encode()) % 10_000


def id_row(token_id: int) -> np.ndarray:
    """(DIM,) float32: a fixed pseudo-random direction per token id."""
    return np.random.default_rng(token_id).standard_normal(DIM).astype(np.float32)


def fake_vector(text: str) -> np.ndarray:
    """(DIM,) float32 sum of the word rows of `text` (what the fake engine returns)."""
    return np.sum([id_row(word_id(w)) for w in text.lower().split()], axis=0).astype(np.float32)


class FakeEncoder:
    """Tokenizes by whitespace: [CLS] words [SEP], cut to `max_length` tokens."""

    def __init__(self, name: str, max_length: int = 32):
        self.manifest = ModelManifest(
            name=name,
            kind=ModelKind.ENCODER,
            architecture="fake",
            pooling=PoolingMode.MEAN,
            max_length=max_length,
            hidden_size=DIM,
            dimension=DIM,
        )
        self.tokenized: list[int] = []  # texts per tokenize call

    def tokenize(self, texts: Sequence[str]) -> list[TokenizedText]:
        self.tokenized.append(len(texts))
        out = []
        limit = self.manifest.max_length
        for text in texts:
            words = text.lower().split()
            n = len(words) + 2
            ids = np.array([word_id(w) for w in words], np.int64)
            ids = np.concatenate([[101], ids, [102]])[:limit]
            mask = np.zeros(len(ids), bool)
            mask[0] = mask[-1] = True
            out.append(TokenizedText(ids, min(n, limit), n > limit, mask))
        return out


class FakeBatcher:
    """Answers each submission at once from the fake vectors; records its sizes."""

    def __init__(self):
        self.submissions: list[int] = []
        self.alive = True

    async def submit(self, items: Sequence[EncodeRequest]) -> list[EncodedText]:
        self.submissions.append(len(items))
        return [_encoded(req) for req in items]


def _encoded(req: EncodeRequest) -> EncodedText:
    words = req.tokens.ids[~req.tokens.special_mask]
    rows = np.stack([id_row(int(i)) for i in words]) if len(words) else None
    vector = rows.sum(axis=0) if rows is not None else np.zeros(DIM, np.float32)
    tokens = None
    if req.want_tokens:
        tokens = rows if rows is not None else np.zeros((0, DIM), np.float32)
    return EncodedText(vector.astype(np.float32), tokens)


class FakeRegistry(ModelRegistry):
    """The real registry's lookups over fake served models (the first is the default)."""

    def __init__(self, names: Sequence[str] = ("fake",), max_submit: int = 512):
        super().__init__(ModelSettings(dirs=[], default=names[0]), BatcherSettings())
        self._served = {
            n: ServedModel(n, Path("/nonexistent") / n, FakeEncoder(n), FakeBatcher(), max_submit)
            for n in names
        }

    def submissions(self, name: str = "fake") -> list[int]:
        return self._served[name].batcher.submissions
