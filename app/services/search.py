"""Search use-case: embed queries, ANN top-k (with payload filter), optional WMD/WRD rerank.

Rerank: the index returns `candidates` hits by cosine; each candidate's token vectors come
from `TokenVectorCache` or are recomputed by the collection's model (same onnxruntime pass
kind as the query, see token_cache.py for why not stored); hits are re-ordered by the OT
similarity, exhaustively (lower-bound pruning measured slower on STS data; see BENCHMARKS.md).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np

from app.errors import ValidationFailed
from app.index.collection import Hit
from app.index.filters import PayloadFilter
from app.index.fusion import reciprocal_rank_fusion
from app.rerank.distances import RerankMethod
from app.rerank.rerank import rerank
from app.services.collections import CollectionService
from app.services.texts import check_count, check_text
from app.services.token_cache import TokenVectorCache


class SearchMode(StrEnum):
    DENSE = "dense"  # cosine on the vector index
    LEXICAL = "lexical"  # BM25 on the words index (jieba-segmented Chinese)
    HYBRID = "hybrid"  # reciprocal-rank fusion of the two lists


@dataclass(frozen=True)
class RerankOptions:
    method: RerankMethod
    candidates: int = 50


@dataclass(frozen=True)
class SearchHit:
    id: str
    text: str
    payload: dict[str, Any]
    score: float  # cosine similarity (of the best of the document and its aliases)
    rerank_score: float | None = None  # -WMD or 1 - WRD when reranked
    matched_alias: str | None = None  # the alias that scored `score`, None for the text itself
    lexical_score: float | None = None  # BM25 (modes lexical, hybrid; None: no word matched)
    fused_score: float | None = None  # reciprocal-rank fusion score (mode hybrid)


@dataclass(frozen=True)
class StageTimings:
    embed_ms: float
    search_ms: float
    rerank_ms: float | None  # whole rerank stage, candidate token vectors included
    candidate_tokens_ms: float | None  # part of rerank_ms spent fetching/encoding candidates


@dataclass(frozen=True)
class SearchResult:
    collection: str
    model: str
    results: list[list[SearchHit]]
    timings: StageTimings


# per query: document iid -> (lexical_score, fused_score)
Extras = list[dict[int, tuple[float | None, float | None]]]


def _hit(hit: Hit, rerank_score: float | None = None, extra=(None, None)) -> SearchHit:
    return SearchHit(hit.id, hit.text, hit.payload, hit.score, rerank_score, hit.alias, *extra)


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 3)


class SearchService:
    def __init__(self, collections: CollectionService, cache: TokenVectorCache):
        self.collections = collections
        self.cache = cache
        self.settings = collections.settings
        self.limits = collections.limits

    async def search(
        self,
        collection: str,
        queries: Sequence[str],
        *,
        top_k: int = 10,
        flt: PayloadFilter | None = None,
        rerank_options: RerankOptions | None = None,
        model: str | None = None,
        mode: SearchMode = SearchMode.DENSE,
    ) -> SearchResult:
        coll = self.collections.store.get(collection)
        check_count(len(queries), self.settings.max_queries, "queries")
        for i, q in enumerate(queries):
            check_text(q, f"queries[{i}]", self.limits)
        if not 1 <= top_k <= self.settings.max_top_k:
            raise ValidationFailed(
                f"top_k must be in [1, {self.settings.max_top_k}]", param="top_k"
            )
        problem = flt.operator_problem() if flt is not None else None
        if problem is not None:
            raise ValidationFailed(problem[0], param=problem[1])
        fetch = top_k
        if rerank_options is not None:
            fetch = rerank_options.candidates
            if not top_k <= fetch <= self.settings.max_rerank_candidates:
                raise ValidationFailed(
                    f"rerank.candidates must be in [top_k={top_k}, "
                    f"{self.settings.max_rerank_candidates}]",
                    param="rerank.candidates",
                )
        model = self.collections.model_for(coll, model)

        started = time.perf_counter()
        emb = await self.collections.embeddings.encode(
            list(queries), model=model, want_tokens=rerank_options is not None, param="queries"
        )
        embed_ms = _ms(started)

        started = time.perf_counter()
        if mode is SearchMode.DENSE:
            hits = await asyncio.to_thread(coll.search, emb.vectors, fetch, flt)
            extras: Extras = [{} for _ in hits]
        else:
            hits, extras = await asyncio.to_thread(
                _mixed, coll, mode, queries, emb.vectors, fetch, flt
            )
        search_ms = _ms(started)

        if rerank_options is None:
            results = [
                [_hit(h, None, extra.get(h.iid, (None, None))) for h in row[:top_k]]
                for row, extra in zip(hits, extras, strict=True)
            ]
            timings = StageTimings(embed_ms, search_ms, None, None)
            return SearchResult(coll.config.name, model, results, timings)

        started = time.perf_counter()
        texts = list(dict.fromkeys(h.text for row in hits for h in row))
        tokens = await self.token_vectors(model, texts)
        tokens_ms = _ms(started)
        results = await asyncio.to_thread(
            self._rerank, rerank_options.method, emb.token_vectors, hits, tokens, top_k, extras
        )
        timings = StageTimings(embed_ms, search_ms, _ms(started), tokens_ms)
        return SearchResult(coll.config.name, model, results, timings)

    async def token_vectors(self, model: str, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """Token vectors per distinct text: cached ones, the rest encoded."""
        out: dict[str, np.ndarray] = {}
        misses = []
        for text in texts:
            cached = self.cache.get(model, text)
            if cached is None:
                misses.append(text)
            else:
                out[text] = cached
        emb = await self.collections.embeddings.encode(misses, model=model, want_tokens=True)
        for text, tok in zip(misses, emb.token_vectors or [], strict=True):
            self.cache.put(model, text, tok)
            out[text] = tok
        return out

    def _rerank(self, method, query_tokens, hits, tokens, top_k, extras) -> list[list[SearchHit]]:
        results = []
        for q, (qtok, row, extra) in enumerate(zip(query_tokens, hits, extras, strict=True)):
            if qtok is None or len(qtok) == 0:
                raise ValidationFailed(
                    f"queries[{q}] has no tokens besides special ones; rerank needs one",
                    param=f"queries[{q}]",
                )
            # a candidate whose text has no ordinary token cannot be transported: skip it
            usable = [h for h in row if len(tokens[h.text])]
            ranked = rerank(
                method,
                qtok,
                [tokens[h.text] for h in usable],
                top_k,
                prune=self.settings.rerank_prune,
            )
            order = zip(ranked.indices.tolist(), ranked.scores.tolist(), strict=True)
            results.append(
                [
                    _hit(usable[i], score, extra.get(usable[i].iid, (None, None)))
                    for i, score in order
                ]
            )
        return results


# hybrid fuses this many hits of each list at least: a document both lists rank well but
# neither first gains from RRF only if both lists reach it (see BENCHMARKS.md, FAQ matching)
HYBRID_DEPTH = 50


def _mixed(
    coll, mode: SearchMode, queries: Sequence[str], vectors: np.ndarray, fetch: int, flt
) -> tuple[list[list[Hit]], Extras]:
    """Lexical or hybrid candidates per query, `fetch` each, every hit scored by its cosine
    (best of text and aliases, like dense hits) so `score` means the same in every mode."""
    all_hits, all_extras = [], []
    depth = fetch if mode is SearchMode.LEXICAL else max(fetch, HYBRID_DEPTH)
    for query, vector in zip(queries, vectors, strict=True):
        lexical = coll.lexical(query, depth, flt)
        bm25 = {h.iid: h.score for h in lexical}
        if mode is SearchMode.LEXICAL:
            order, fused, dense = [(h.iid, None) for h in lexical], False, {}
        else:
            dense = {h.iid: h for h in coll.search(vector[None], depth, flt)[0]}
            order = reciprocal_rank_fusion([list(dense), list(bm25)])[:fetch]
            fused = True
        by_iid = {h.iid: h for h in lexical}
        cosines = coll.cosines([i for i, _ in order if i not in dense], vector)
        hits, extras = [], {}
        for iid, fused_score in order:
            if iid in dense:
                hit = dense[iid]
            elif iid in cosines:  # gone since the lexical search: left out
                hit = by_iid[iid]._replace(score=cosines[iid][0], alias=cosines[iid][1])
            else:
                continue
            hits.append(hit)
            extras[iid] = (bm25.get(iid), fused_score if fused else None)
        all_hits.append(hits)
        all_extras.append(extras)
    return all_hits, all_extras
