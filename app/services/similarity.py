"""Similarity use-case: score sentence pairs by cosine, WMD or WRD with one model.

Each distinct text is encoded once (token vectors in the same onnxruntime pass when an OT
method is asked for); scores come back in input order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from app.errors import ValidationFailed
from app.rerank.distances import RerankMethod, similarity
from app.services.embedding import EmbeddingService
from app.services.texts import check_count, check_text
from app.settings import LimitsSettings


class SimilarityMethod(StrEnum):
    COSINE = "cosine"
    WMD = "wmd"
    WRD = "wrd"

    @classmethod
    def parse(cls, value: str) -> SimilarityMethod:
        try:
            return cls(value)
        except ValueError:
            valid = ", ".join(m.value for m in cls)
            raise ValidationFailed(
                f"unknown method {value!r}; valid: {valid}", param="method"
            ) from None


@dataclass(frozen=True)
class SimilarityResult:
    model: str
    method: SimilarityMethod
    scores: list[float]  # cosine in [-1, 1]; -WMD (<= 0); 1 - WRD in [-1, 1]


class SimilarityService:
    def __init__(self, embeddings: EmbeddingService, limits: LimitsSettings):
        self.embeddings = embeddings
        self.limits = limits

    async def pairs(
        self,
        pairs: Sequence[tuple[str, str]],
        method: SimilarityMethod | str = SimilarityMethod.COSINE,
        model: str | None = None,
        *,
        param: str = "pairs",
    ) -> SimilarityResult:
        method = SimilarityMethod.parse(method)
        check_count(len(pairs), self.limits.max_texts, param)
        for i, pair in enumerate(pairs):
            for j, text in enumerate(pair):
                check_text(text, f"{param}[{i}][{j}]", self.limits)
        texts = list(dict.fromkeys(t for pair in pairs for t in pair))
        position = {t: i for i, t in enumerate(texts)}
        want_tokens = method is not SimilarityMethod.COSINE
        vectors, tokens, name = [], [], None
        for start in range(0, len(texts), self.limits.max_texts):
            emb = await self.embeddings.embed(
                texts[start : start + self.limits.max_texts], model=model, want_tokens=want_tokens
            )
            name = emb.model
            vectors.append(emb.vectors)
            tokens.extend(emb.token_vectors or [])
        mat = np.concatenate(vectors)
        idx = np.array([[position[a], position[b]] for a, b in pairs])
        if method is SimilarityMethod.COSINE:
            scores = np.einsum("ij,ij->i", mat[idx[:, 0]], mat[idx[:, 1]]).tolist()
        else:
            ot_method = RerankMethod(method.value)
            for text, tok in zip(texts, tokens, strict=True):
                if tok is None or len(tok) == 0:
                    raise ValidationFailed(
                        f"text {text!r} has no tokens besides special ones; "
                        f"{method.value} needs at least one",
                        param=param,
                    )
            scores = await asyncio.to_thread(
                lambda: [similarity(ot_method, tokens[a], tokens[b]) for a, b in idx.tolist()]
            )
        return SimilarityResult(name or "", method, [float(s) for s in scores])

    async def one_to_many(
        self,
        source: str,
        sentences: Sequence[str],
        method: SimilarityMethod | str = SimilarityMethod.COSINE,
        model: str | None = None,
    ) -> SimilarityResult:
        check_text(source, "source", self.limits)
        check_count(len(sentences), self.limits.max_texts, "sentences")
        for i, text in enumerate(sentences):
            check_text(text, f"sentences[{i}]", self.limits)
        return await self.pairs([(source, s) for s in sentences], method, model)
