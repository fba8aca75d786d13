from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import ReadyContainerDep
from app.api.responses import FastJSONResponse
from app.api.schemas.embed import (
    EmbedRequest,
    EmbedResponse,
    OpenAIEmbeddingRequest,
    OpenAIEmbeddingResponse,
    openai_body,
)

router = APIRouter(tags=["embeddings"])


@router.post("/embed", response_model=EmbedResponse)
async def embed(body: EmbedRequest, container: ReadyContainerDep) -> FastJSONResponse:
    result = await container.embeddings.embed(
        body.texts, model=body.model, normalize=body.normalize, truncate=body.truncate
    )
    return FastJSONResponse(
        {
            "model": result.model,
            "dim": result.dim,
            "embeddings": result.vectors,
            "usage": {"tokens": result.tokens, "truncated": result.truncated},
        }
    )


@router.post("/v1/embeddings", response_model=OpenAIEmbeddingResponse)
async def openai_embeddings(
    body: OpenAIEmbeddingRequest, container: ReadyContainerDep
) -> FastJSONResponse:
    result = await container.embeddings.embed(
        body.texts, model=body.model, dimensions=body.dimensions, param="input"
    )
    return FastJSONResponse(openai_body(result, body.encoding_format))
