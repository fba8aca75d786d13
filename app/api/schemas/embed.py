from __future__ import annotations

import base64
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from app.api.schemas.common import StrictModel
from app.services.embedding import Embeddings


class EmbedRequest(StrictModel):
    texts: list[str] = Field(description="Sentences to embed, each encoded alone.")
    model: str | None = Field(None, description="Served model name; default model when omitted.")
    normalize: bool = Field(True, description="L2-normalise the vectors (cosine = dot product).")
    truncate: bool = Field(
        True, description="Cut over-long texts to the model's max_length; false -> 422."
    )


class Usage(BaseModel):
    tokens: int
    truncated: int


class EmbedResponse(BaseModel):
    model: str
    dim: int
    embeddings: list[list[float]]
    usage: Usage


class OpenAIEmbeddingRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    input: str | list[str] = Field(description="A string or a list of strings.")
    model: str
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = Field(
        None, ge=1, description="Keep the first N dimensions, renormalised."
    )
    user: str | None = None

    @property
    def texts(self) -> list[str]:
        return [self.input] if isinstance(self.input, str) else self.input


class OpenAIEmbedding(BaseModel):
    object: Literal["embedding"] = "embedding"
    index: int
    embedding: list[float] | str


class OpenAIUsage(BaseModel):
    prompt_tokens: int
    total_tokens: int


class OpenAIEmbeddingResponse(BaseModel):
    object: Literal["list"] = "list"
    data: list[OpenAIEmbedding]
    model: str
    usage: OpenAIUsage


def openai_body(result: Embeddings, encoding_format: str) -> dict[str, Any]:
    """An `OpenAIEmbeddingResponse` body (for FastJSONResponse, which writes float32 rows
    itself); base64 = the little-endian float32 bytes of each vector."""
    data = []
    for i, vec in enumerate(result.vectors):
        if encoding_format == "base64":
            payload = base64.b64encode(np.ascontiguousarray(vec, dtype="<f4").tobytes()).decode()
        else:
            payload = vec
        data.append({"object": "embedding", "index": i, "embedding": payload})
    return {
        "object": "list",
        "data": data,
        "model": result.model,
        "usage": {"prompt_tokens": result.tokens, "total_tokens": result.tokens},
    }
