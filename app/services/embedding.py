"""Embedding use-case: validate texts against limits, tokenize, batch, pool, normalise.

Two entry points over one path (vector cache -> tokenizer -> the model's batcher):
- `embed` is the request edge: `limits.max_texts` and the per-text checks, then `encode`;
- `encode` is for the services that embed texts they have checked by their own rules
  (documents, aliases, queries, candidates): any number of texts, submitted to the batcher
  in chunks of at most what its worker takes at once (`ServedModel.max_submit`), so no
  caller writes its own chunking loop and nothing is checked twice.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from app.engines.encoder import EncodeRequest
from app.engines.pooling import l2_normalize
from app.engines.registry import ModelRegistry, ServedModel
from app.errors import InvalidInput, ValidationFailed
from app.metrics import Metrics
from app.services.texts import check_count, check_text
from app.services.vector_cache import CachedVector, VectorCache
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
        self,
        registry: ModelRegistry,
        limits: LimitsSettings,
        metrics: Metrics | None = None,
        cache: VectorCache | None = None,
    ):
        self.registry = registry
        self.limits = limits
        self.metrics = metrics
        self.cache = cache  # None = off; shared by every path that embeds texts

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
        dimensions: int | None = None,
        param: str = "texts",
    ) -> Embeddings:
        """A request's texts: checked against `limits` (domain errors naming `param`), then
        encoded. `dimensions` keeps the first N dimensions of each vector, renormalised
        when `normalize` (Matryoshka-style shortening; N above the model's is a 400)."""
        served = self.registry.get(model)
        self.check_texts(texts, param)
        # one submission, as a request always was: more texts than the queue holds is a 429
        emb = await self._encode(
            served, texts, normalize, truncate, want_tokens, param, step=len(texts)
        )
        if dimensions is None:
            return emb
        if dimensions > emb.dim:
            raise InvalidInput(
                f"dimensions {dimensions} exceeds the model's {emb.dim}", param="dimensions"
            )
        vectors = emb.vectors[:, :dimensions]
        return replace(emb, vectors=l2_normalize(vectors) if normalize else vectors)

    async def encode(
        self,
        texts: Sequence[str],
        *,
        model: str | None = None,
        normalize: bool = True,
        truncate: bool = True,
        want_tokens: bool = False,
        param: str = "texts",
    ) -> Embeddings:
        """Texts the caller has already checked, any number of them (none: a (0, dim)
        result). `param` names them in a truncate=false refusal."""
        served = self.registry.get(model)
        if not texts:
            return Embeddings(
                served.name,
                np.zeros((0, served.manifest.dimension), np.float32),
                0,
                0,
                [] if want_tokens else None,
            )
        return await self._encode(
            served, texts, normalize, truncate, want_tokens, param, step=served.max_submit
        )

    async def _encode(
        self,
        served: ServedModel,
        texts: Sequence[str],
        normalize: bool,
        truncate: bool,
        want_tokens: bool,
        param: str,
        step: int,
    ) -> Embeddings:
        """Cached vectors, the rest computed in batcher submissions of at most `step` texts."""
        # Token vectors are not cached (services/token_cache.py holds those for reranking),
        # so a request that wants them computes every text; its vectors still fill the cache.
        lookup = self.cache is not None and not want_tokens
        entries: list[CachedVector | None] = [
            self.cache.get(served.name, t, truncate) if lookup else None  # type: ignore[union-attr]
            for t in texts
        ]
        missing = [i for i, e in enumerate(entries) if e is None]
        token_vectors: list[np.ndarray | None] = [None] * len(texts)
        for start in range(0, len(missing), step):
            chunk = missing[start : start + step]
            computed = await self._compute(
                served, [texts[i] for i in chunk], chunk, truncate, want_tokens, param
            )
            for i, (entry, tokens) in zip(chunk, computed, strict=True):
                entries[i] = entry
                token_vectors[i] = tokens
                if self.cache is not None:
                    self.cache.put(
                        served.name,
                        texts[i],
                        truncate,
                        entry.vector,
                        entry.n_tokens,
                        entry.truncated,
                    )
        done = [e for e in entries if e is not None]
        vectors = np.stack([e.vector for e in done]).astype(np.float32, copy=False)
        if normalize:
            vectors = l2_normalize(vectors)
        return Embeddings(
            model=served.name,
            vectors=vectors,
            tokens=sum(e.n_tokens for e in done),
            truncated=sum(e.truncated for e in done),
            token_vectors=token_vectors if want_tokens else None,  # type: ignore[arg-type]
        )

    async def _compute(
        self,
        served: ServedModel,
        texts: Sequence[str],
        positions: Sequence[int],
        truncate: bool,
        want_tokens: bool,
        param: str,
    ) -> list[tuple[CachedVector, np.ndarray | None]]:
        """Tokenize and encode `texts` (at `positions` in the request) through the batcher."""
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
            for i, tok in zip(positions, tokenized, strict=True):
                if tok.truncated:
                    raise ValidationFailed(
                        f"{param}[{i}] is longer than {served.manifest.max_length} tokens and "
                        "truncate is false",
                        param=f"{param}[{i}]",
                    )
        results = await served.batcher.submit([EncodeRequest(t, want_tokens) for t in tokenized])
        return [
            (CachedVector(r.vector, t.n_tokens, bool(t.truncated)), r.token_vectors)
            for r, t in zip(results, tokenized, strict=True)
        ]
