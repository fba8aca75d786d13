from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from app.api.schemas.common import ResponseModel, StrictModel, invalid_input
from app.services.search import SearchResult
from app.services.similarity import SimilarityResult


class FilterBody(StrictModel):
    must: dict[str, Any] = Field(default_factory=dict, description="payload[key] == value, all")
    must_not: dict[str, Any] = Field(default_factory=dict, description="payload[key] != value")


class RerankBody(StrictModel):
    method: Literal["wrd", "wmd"]
    candidates: int = Field(50, description="ANN candidates reranked (>= top_k)")


class SearchRequest(StrictModel):
    collection: str
    query: str | None = None
    queries: list[str] | None = None
    top_k: int = 10
    filter: FilterBody | None = None
    rerank: RerankBody | None = None
    model: str | None = Field(None, description="Optional check: must be the collection's model")
    mode: Literal["dense", "lexical", "hybrid"] = Field(
        "dense",
        description="dense (cosine), lexical (BM25 over words; jieba for Chinese) or hybrid "
        "(reciprocal-rank fusion of both); rerank applies after",
    )

    @model_validator(mode="after")
    def _one_query_form(self) -> SearchRequest:
        if (self.query is None) == (self.queries is None):
            raise invalid_input("give exactly one of query or queries", param="query")
        return self

    @property
    def query_list(self) -> list[str]:
        """The queries in order, whichever form was given."""
        return [self.query] if self.query is not None else list(self.queries or [])


class HitOut(ResponseModel):
    id: str
    text: str
    payload: dict[str, Any]
    score: float = Field(description="cosine of the query to the document or its best alias")
    rerank_score: float | None = None
    matched_alias: str | None = Field(
        None, description="the alias that scored `score`; null when the document text did"
    )
    lexical_score: float | None = Field(None, description="BM25 (lexical/hybrid; null: no word)")
    fused_score: float | None = Field(None, description="reciprocal-rank fusion score (hybrid)")


class QueryResult(ResponseModel):
    query: str
    hits: list[HitOut]


class Timings(ResponseModel):
    embed_ms: float
    search_ms: float
    rerank_ms: float | None = None
    candidate_tokens_ms: float | None = None


class SearchResponse(ResponseModel):
    collection: str
    model: str
    results: list[QueryResult]
    timings: Timings

    @classmethod
    def of(cls, result: SearchResult, queries: list[str]) -> SearchResponse:
        return cls(
            collection=result.collection,
            model=result.model,
            results=[
                QueryResult(query=q, hits=hits)
                for q, hits in zip(queries, result.results, strict=True)
            ],
            timings=result.timings,
        )


class SimilarityRequest(StrictModel):
    pairs: list[Annotated[list[str], Field(min_length=2, max_length=2)]] | None = None
    source: str | None = None
    sentences: list[str] | None = None
    method: Literal["cosine", "wmd", "wrd"] = "cosine"
    model: str | None = None
    explain: bool = Field(
        False,
        description="wmd/wrd only: also return each pair's transport plan between word pieces "
        "(at most 16 pairs)",
    )

    @model_validator(mode="after")
    def _one_input_form(self) -> SimilarityRequest:
        given = (self.pairs is not None, self.source is not None, self.sentences is not None)
        if given not in ((True, False, False), (False, True, True)):
            raise invalid_input("give either pairs, or source with sentences", param="pairs")
        return self


class PairExplanationOut(ResponseModel):
    tokens_a: list[str] = Field(description="word pieces of the first text (no special tokens)")
    tokens_b: list[str] = Field(description="word pieces of the second text")
    weights_a: list[float] = Field(description="mass of each token of a (sums to 1)")
    weights_b: list[float] = Field(description="mass of each token of b (sums to 1)")
    plan: list[list[float]] = Field(
        description="plan[i][j]: mass moved from tokens_a[i] to tokens_b[j]; rows sum to "
        "weights_a, columns to weights_b"
    )
    cost: list[list[float]] = Field(
        description="cost[i][j]: ground cost (Euclidean for wmd, 1 - cosine for wrd)"
    )
    distance: float = Field(description="sum(plan * cost): WMD or WRD; score = -WMD or 1 - WRD")


class SimilarityResponse(ResponseModel):
    model: str
    method: str
    scores: list[float]
    explanations: list[PairExplanationOut] | None = Field(
        None, description="one per score, in the same order; only when explain is true"
    )

    @classmethod
    def of(cls, result: SimilarityResult) -> SimilarityResponse:
        return cls(
            model=result.model,
            method=result.method.value,
            scores=result.scores,
            explanations=result.explanations,
        )
