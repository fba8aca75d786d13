"""/search (ANN + optional WMD/WRD rerank) and /similarity: thin routes over the services."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import ReadyContainerDep
from app.api.schemas.search import (
    SearchRequest,
    SearchResponse,
    SimilarityRequest,
    SimilarityResponse,
)
from app.index.filters import PayloadFilter
from app.rerank.distances import RerankMethod
from app.services.search import RerankOptions, SearchMode

router = APIRouter(tags=["retrieval"])


def filter_and_rerank(body) -> tuple[PayloadFilter | None, RerankOptions | None]:
    """The payload filter and rerank options of a /search or /match body."""
    flt = PayloadFilter(body.filter.must, body.filter.must_not) if body.filter else None
    options = (
        RerankOptions(RerankMethod(body.rerank.method), body.rerank.candidates)
        if body.rerank
        else None
    )
    return flt, options


@router.post("/search", response_model=SearchResponse)
async def search(body: SearchRequest, container: ReadyContainerDep) -> SearchResponse:
    queries = body.query_list
    flt, options = filter_and_rerank(body)
    result = await container.search.search(
        body.collection, queries, top_k=body.top_k, flt=flt, rerank_options=options,
        model=body.model, mode=SearchMode(body.mode),
    )  # fmt: skip
    return SearchResponse.of(result, queries)


@router.post("/similarity", response_model=SimilarityResponse)
async def similarity(body: SimilarityRequest, container: ReadyContainerDep) -> SimilarityResponse:
    if body.pairs is not None:
        pairs = [(a, b) for a, b in body.pairs]
        result = await container.similarity.pairs(
            pairs, body.method, body.model, explain=body.explain
        )
    else:
        result = await container.similarity.one_to_many(
            body.source or "", body.sentences or [], body.method, body.model, explain=body.explain
        )
    return SimilarityResponse.of(result)
