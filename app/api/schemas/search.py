from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from app.api.schemas.common import StrictModel


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


class HitOut(BaseModel):
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


class QueryResult(BaseModel):
    query: str
    hits: list[HitOut]


class Timings(BaseModel):
    embed_ms: float
    search_ms: float
    rerank_ms: float | None = None
    candidate_tokens_ms: float | None = None


class SearchResponse(BaseModel):
    collection: str
    model: str
    results: list[QueryResult]
    timings: Timings


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


class PairExplanationOut(BaseModel):
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


class SimilarityResponse(BaseModel):
    model: str
    method: str
    scores: list[float]
    explanations: list[PairExplanationOut] | None = Field(
        None, description="one per score, in the same order; only when explain is true"
    )
