from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.api.schemas.common import StrictModel


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
