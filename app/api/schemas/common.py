"""Schema pieces every endpoint shares: the strict request base and the model description."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """Request bodies: unknown fields and type coercion ("1" for 1) are rejected (422)."""

    model_config = ConfigDict(extra="forbid", strict=True)


class ModelInfo(BaseModel):
    name: str
    kind: str
    architecture: str
    dimension: int
    hidden_size: int
    pooling: str
    normalize: bool
    max_length: int
    whitening_k: int | None
    quantization: str | None
    providers: list[str]


class ModelList(BaseModel):
    models: list[ModelInfo]
