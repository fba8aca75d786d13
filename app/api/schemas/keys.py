from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class KeyInfo(BaseModel):
    auth: bool = Field(description="whether this server checks API keys")
    presented: bool = Field(description="whether the request carried an Authorization header")
    scope: Literal["rw", "ro"] | None = Field(
        description="what the presented key may do: rw, ro (writes are 403); null when auth is "
        "on and the key is missing or invalid (other routes answer 401)"
    )
