from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from app.api.schemas.common import ResponseModel, StrictModel


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
    calibration: dict[str, Any] | None = Field(
        None, description="GET /collections/{name} only: its match calibration, with `usable`"
    )


class QuarantinedOut(BaseModel):
    name: str
    error: str = Field(description="why its data could not be opened at start-up")


class CollectionList(BaseModel):
    collections: list[CollectionOut]
    quarantined: list[QuarantinedOut] = Field(
        default_factory=list,
        description="collections on disk that could not be opened (503 on their routes)",
    )


class DocumentIn(StrictModel):
    id: str
    text: str
    payload: dict[str, Any] = Field(default_factory=dict)
    vector: list[float] | None = Field(
        None, description="Optional precomputed vector (collection dimension); else embedded."
    )
    aliases: list[str] = Field(
        default_factory=list,
        description="Other phrasings (e.g. similar questions) indexed with their own vectors; "
        "a hit on one returns this document once. Replaced by every upsert of the document.",
    )


class AugmentBody(StrictModel):
    """Generate aliases: SimBERT paraphrases of each document's text (POST /paraphrase)."""

    k: int = Field(5, description="paraphrases kept per document (closest to it first)")
    model: str | None = Field(None, description="generator model; the default generator if omitted")
    n: int = Field(32, description="candidates sampled per document")
    max_length: int = Field(32, description="new tokens per candidate")
    min_score: float | None = Field(
        None, description="keep only paraphrases with at least this cosine to the document"
    )
    seed: int | None = Field(None, description="document i decodes with seed + i")


class DuplicatesBody(StrictModel):
    """Check each document against the stored ones (texts and aliases) and earlier ones of
    this request before writing."""

    action: Literal["report", "refuse"] = Field(
        "report", description="report: write all and list duplicates; refuse: 409, write nothing"
    )
    threshold: float | None = Field(
        None,
        description="cosine at or above which a match is a duplicate; default: the "
        "collection's calibration threshold",
    )


class DuplicateOut(ResponseModel):
    index: int = Field(description="position of the document in the request")
    id: str
    duplicate_of: str = Field(description="stored document (or earlier one in this request)")
    score: float = Field(description="cosine")
    matched_alias: str | None = None


class UpsertRequest(StrictModel):
    documents: list[DocumentIn]
    duplicates: DuplicatesBody | None = Field(
        None, description="report or refuse documents that duplicate existing ones"
    )
    augment: AugmentBody | None = Field(
        None, description="also index k generated paraphrases of each document as its aliases"
    )


class DeleteRequest(StrictModel):
    ids: list[str]


class WriteResponse(BaseModel):
    collection: str
    upserted: int = 0
    deleted: int = 0
    aliases: int = Field(0, description="aliases written, or removed with deleted documents")
    missing: list[str] = Field(default_factory=list)
    duplicates: list[DuplicateOut] | None = Field(
        None, description="upsert with `duplicates`: the documents found to be duplicates"
    )
    seq: int = Field(description="Write sequence of this durable write (monotonic).")


class DocumentOut(BaseModel):
    id: str
    text: str
    payload: dict[str, Any]
    aliases: list[str] = Field(default_factory=list)


class DocumentPageOut(BaseModel):
    collection: str
    total: int = Field(description="documents in the collection (aliases not counted)")
    offset: int
    limit: int
    documents: list[DocumentOut] = Field(description="in id order, each with its aliases")
