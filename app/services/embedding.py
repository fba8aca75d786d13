"""Embedding use-case: validate texts against limits, tokenize, batch, pool, normalise."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from app.engines.encoder import EncodeRequest
from app.engines.pooling import l2_normalize
from app.engines.registry import ModelRegistry, ServedModel
from app.errors import ValidationFailed
from app.metrics import Metrics
from app.services.texts import check_count, check_text
from app.settings import LimitsSettings

# Tokenizing more than this many characters moves off the event loop.
INLINE_TOKENIZE_CHARS = 4096


@dataclass(frozen=True)
class Embeddings:
    model: str
    vectors: np.ndarray  # (n, dim) float32
    tokens: int  # tokens fed to the model, [CLS]/[SEP] included
    truncated: int  # texts cut to the model's max_length
    token_vectors: list[np.ndarray] | None  # per text (n_words, hidden) float32, when asked

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])


class EmbeddingService:
    def __init__(
        self, registry: ModelRegistry, limits: LimitsSettings, metrics: Metrics | None = None
    ):
        self.registry = registry
        self.limits = limits
        self.metrics = metrics

    def model(self, name: str | None) -> ServedModel:
        return self.registry.get(name)

    def check_texts(self, texts: Sequence[str], param: str = "texts") -> None:
        """Raise a domain error for an empty list, too many texts, empty or over-long texts."""
        check_count(len(texts), self.limits.max_texts, param)
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise ValidationFailed(f"{param}[{i}] must be a string", param=f"{param}[{i}]")
            check_text(text, f"{param}[{i}]", self.limits)

    async def embed(
        self,
        texts: Sequence[str],
        *,
        model: str | None = None,
        normalize: bool = True,
        truncate: bool = True,
        want_tokens: bool = False,
        param: str = "texts",
    ) -> Embeddings:
        served = self.registry.get(model)
        self.check_texts(texts, param)
        started = time.perf_counter()
        if sum(len(t) for t in texts) > INLINE_TOKENIZE_CHARS:
            tokenized = await asyncio.to_thread(served.encoder.tokenize, texts)
        else:
            tokenized = served.encoder.tokenize(texts)
        if self.metrics is not None:
            self.metrics.stage_seconds.labels(served.name, "tokenize").observe(
                time.perf_counter() - started
            )
        if not truncate:
            for i, tok in enumerate(tokenized):
                if tok.truncated:
                    raise ValidationFailed(
                        f"{param}[{i}] is longer than {served.manifest.max_length} tokens and "
                        "truncate is false",
                        param=f"{param}[{i}]",
                    )
        results = await served.batcher.submit([EncodeRequest(t, want_tokens) for t in tokenized])
        vectors = np.stack([r.vector for r in results]).astype(np.float32, copy=False)
        if normalize:
            vectors = l2_normalize(vectors)
        return Embeddings(
            model=served.name,
            vectors=vectors,
            tokens=sum(t.n_tokens for t in tokenized),
            truncated=sum(t.truncated for t in tokenized),
            token_vectors=[r.token_vectors for r in results] if want_tokens else None,
        )
