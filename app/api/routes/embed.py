from __future__ import annotations

import base64

import numpy as np
from fastapi import APIRouter

from app.api.deps import ReadyContainerDep
from app.api.responses import FastJSONResponse
from app.api.schemas.embed import (
    EmbedRequest,
    EmbedResponse,
    OpenAIEmbeddingRequest,
    OpenAIEmbeddingResponse,
)
from app.engines.pooling import l2_normalize
from app.errors import InvalidInput

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
    texts = [body.input] if isinstance(body.input, str) else body.input
    result = await container.embeddings.embed(texts, model=body.model, param="input")
    vectors = result.vectors
    if body.dimensions is not None:
        if body.dimensions > result.dim:
            raise InvalidInput(
                f"dimensions {body.dimensions} exceeds the model's {result.dim}", param="dimensions"
            )
        vectors = l2_normalize(vectors[:, : body.dimensions])
    data = []
    for i, vec in enumerate(vectors):
        if body.encoding_format == "base64":
            payload = base64.b64encode(np.ascontiguousarray(vec, dtype="<f4").tobytes()).decode()
        else:
            payload = vec
        data.append({"object": "embedding", "index": i, "embedding": payload})
    return FastJSONResponse(
        {
            "object": "list",
            "data": data,
            "model": result.model,
            "usage": {"prompt_tokens": result.tokens, "total_tokens": result.tokens},
        }
    )
