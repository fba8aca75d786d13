"""Similarity use-case: score sentence pairs by cosine, WMD or WRD with one model.

Each distinct text is encoded once (token vectors in the same onnxruntime pass when an OT
method is asked for); scores come back in input order. With `explain`, each WMD/WRD score
comes with its transport plan between the two texts' word pieces (`app.rerank.explain`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from app.enums import parse_enum
from app.errors import PayloadTooLarge, ValidationFailed
from app.rerank.distances import RerankMethod, similarity, to_similarity
from app.rerank.explain import transport_plan
from app.services.embedding import EmbeddingService
from app.services.texts import check_count, check_text
from app.settings import LimitsSettings


class SimilarityMethod(StrEnum):
    COSINE = "cosine"
    WMD = "wmd"
    WRD = "wrd"

    @classmethod
    def parse(cls, value: str) -> SimilarityMethod:
        return parse_enum(
            cls, value, "method", error=lambda msg: ValidationFailed(msg, param="method")
        )


# Each explained pair returns two (n, m) matrices of up to max_length^2 numbers.
MAX_EXPLAIN_PAIRS = 16


@dataclass(frozen=True)
class PairExplanation:
    """The transport plan behind one WMD/WRD score (`app.rerank.explain.TransportPlan`).

    tokens_a, tokens_b: word pieces (special tokens left out), one per row / column.
    weights_*: their mass; plan[i][j]: mass moved from tokens_a[i] to tokens_b[j];
    cost[i][j]: its ground cost; distance = sum(plan * cost) (score = -WMD or 1 - WRD).
    """

    tokens_a: list[str]
    tokens_b: list[str]
    weights_a: list[float]
    weights_b: list[float]
    plan: list[list[float]]
    cost: list[list[float]]
    distance: float


@dataclass(frozen=True)
class SimilarityResult:
    model: str
    method: SimilarityMethod
    scores: list[float]  # cosine in [-1, 1]; -WMD (<= 0); 1 - WRD in [-1, 1]
    explanations: list[PairExplanation] | None = None  # per pair, when explain was asked


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
        explain: bool = False,
    ) -> SimilarityResult:
        """Score each (a, b) pair; every text is checked against `limits`."""
        method = SimilarityMethod.parse(method)
        check_count(len(pairs), self.limits.max_texts, param)
        if explain:
            _check_explain(method, len(pairs))
        for i, pair in enumerate(pairs):
            for j, text in enumerate(pair):
                check_text(text, f"{param}[{i}][{j}]", self.limits)
        return await self._scores(pairs, method, model, param, explain)

    async def _scores(
        self,
        pairs: Sequence[tuple[str, str]],
        method: SimilarityMethod,
        model: str | None,
        param: str,
        explain: bool,
    ) -> SimilarityResult:
        """Score checked pairs: each distinct text encoded once, in one `encode` call."""
        texts = list(dict.fromkeys(t for pair in pairs for t in pair))
        position = {t: i for i, t in enumerate(texts)}
        want_tokens = method is not SimilarityMethod.COSINE
        emb = await self.embeddings.encode(texts, model=model, want_tokens=want_tokens)
        name, mat, tokens = emb.model, emb.vectors, emb.token_vectors or []
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
            if explain:
                pieces = self._word_pieces(texts, name, tokens)
                explanations = await asyncio.to_thread(
                    lambda: [
                        _explain(ot_method, tokens[a], tokens[b], pieces[a], pieces[b])
                        for a, b in idx.tolist()
                    ]
                )
                scores = [to_similarity(ot_method, e.distance) for e in explanations]
                return SimilarityResult(
                    name or "", method, [float(s) for s in scores], explanations
                )
            scores = await asyncio.to_thread(
                lambda: [similarity(ot_method, tokens[a], tokens[b]) for a, b in idx.tolist()]
            )
        return SimilarityResult(name or "", method, [float(s) for s in scores])

    def _word_pieces(
        self, texts: list[str], model: str | None, tokens: list[np.ndarray]
    ) -> list[list[str]]:
        """Word pieces per text, one per token-vector row (same tokenizer, same truncation)."""
        encoder = self.embeddings.model(model).encoder
        pieces = [encoder.tokenizer.word_pieces(t) for t in encoder.tokenize(texts)]
        for text, words, tok in zip(texts, pieces, tokens, strict=True):
            if len(words) != len(tok):  # would mislabel the plan; never expected
                raise RuntimeError(f"{len(words)} word pieces but {len(tok)} vectors: {text!r}")
        return pieces

    async def one_to_many(
        self,
        source: str,
        sentences: Sequence[str],
        method: SimilarityMethod | str = SimilarityMethod.COSINE,
        model: str | None = None,
        *,
        explain: bool = False,
    ) -> SimilarityResult:
        check_text(source, "source", self.limits)
        check_count(len(sentences), self.limits.max_texts, "sentences")
        for i, text in enumerate(sentences):
            check_text(text, f"sentences[{i}]", self.limits)
        method = SimilarityMethod.parse(method)
        if explain:
            _check_explain(method, len(sentences))
        pairs = [(source, s) for s in sentences]
        return await self._scores(pairs, method, model, "pairs", explain)


def _check_explain(method: SimilarityMethod, n_pairs: int) -> None:
    if method is SimilarityMethod.COSINE:
        raise ValidationFailed(
            "explain needs method wmd or wrd (cosine has no transport plan)", param="explain"
        )
    if n_pairs > MAX_EXPLAIN_PAIRS:
        raise PayloadTooLarge(
            f"explain: {n_pairs} pairs given; at most {MAX_EXPLAIN_PAIRS} per request",
            param="explain",
        )


def _explain(
    method: RerankMethod, a: np.ndarray, b: np.ndarray, words_a: list[str], words_b: list[str]
) -> PairExplanation:
    tp = transport_plan(method, a, b)
    return PairExplanation(
        tokens_a=list(words_a),
        tokens_b=list(words_b),
        weights_a=tp.weights_a.tolist(),
        weights_b=tp.weights_b.tolist(),
        plan=tp.plan.tolist(),
        cost=tp.cost.tolist(),
        distance=tp.distance,
    )
