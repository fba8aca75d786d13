from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from app.api.schemas.embed import StrictModel


class IndexBody(StrictModel):
    kind: Literal["flat", "hnsw", "ivf"] = Field(description="flat (exact), hnsw or ivf")
    m: int | None = Field(None, description="hnsw: links per node (default 32)")
    ef_construction: int | None = Field(None, description="hnsw: build beam (default 200)")
    ef_search: int | None = Field(None, description="hnsw: search beam (default 128)")
    nlist: int | None = Field(None, description="ivf: coarse cells (default 1024)")
    nprobe: int | None = Field(None, description="ivf: cells searched (default 32)")

    def params(self) -> dict[str, int]:
        raw = {
            "hnsw_m": self.m,
            "ef_construction": self.ef_construction,
            "ef_search": self.ef_search,
            "nlist": self.nlist,
            "nprobe": self.nprobe,
        }
        return {k: v for k, v in raw.items() if v is not None}


class CollectionCreate(StrictModel):
    model: str | None = Field(None, description="Served model; the default model when omitted.")
    backend: Literal["faiss", "milvus"] | None = Field(
        None, description="Index backend; settings.collections.default_backend when omitted."
    )
    index: IndexBody | None = Field(
        None, description="Index kind and parameters; settings default kind when omitted."
    )


class IndexOut(BaseModel):
    kind: str
    params: dict[str, int]


class CollectionOut(BaseModel):
    name: str
    model: str
    backend: str
    index: IndexOut
    dimension: int
    size: int
    created_at: float


class CollectionList(BaseModel):
    collections: list[CollectionOut]


class DocumentIn(StrictModel):
    id: str
    text: str
    payload: dict[str, Any] = Field(default_factory=dict)
    vector: list[float] | None = Field(
        None, description="Optional precomputed vector (collection dimension); else embedded."
    )


class UpsertRequest(StrictModel):
    documents: list[DocumentIn]


class DeleteRequest(StrictModel):
    ids: list[str]


class WriteResponse(BaseModel):
    collection: str
    upserted: int = 0
    deleted: int = 0
    missing: list[str] = Field(default_factory=list)
    seq: int = Field(description="Write sequence of this durable write (monotonic).")


class DocumentOut(BaseModel):
    id: str
    text: str
    payload: dict[str, Any]
