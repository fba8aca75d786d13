"""Schema pieces every endpoint shares: the strict request base and the model description."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic_core import PydanticCustomError

# pydantic error type of a schema's own cross-field rule; app.api.errors answers it as a
# domain InvalidInput (400 invalid_input with the rule's message and param), like before
# the rule moved from the routes into the schemas
INVALID_INPUT = "invalid_input"


def invalid_input(message: str, param: str) -> PydanticCustomError:
    """The error a schema validator raises for input that breaks a cross-field rule."""
    return PydanticCustomError(INVALID_INPUT, message, {"param": param})


class StrictModel(BaseModel):
    """Request bodies: unknown fields and type coercion ("1" for 1) are rejected (422)."""

    model_config = ConfigDict(extra="forbid", strict=True)


class ResponseModel(BaseModel):
    """Response bodies, also built from the services' result dataclasses' attributes."""

    model_config = ConfigDict(from_attributes=True)


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
