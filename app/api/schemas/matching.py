from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from app.api.schemas.common import ResponseModel, StrictModel
from app.api.schemas.search import FilterBody, HitOut, RerankBody


class PairIn(StrictModel):
    a: str
    b: str
    label: Literal[0, 1] = Field(description="1: same meaning / same FAQ entry; 0: not")


class CalibrationPut(StrictModel):
    """Exactly one of `pairs`, `scores` with `labels`, or `calibration`."""

    pairs: list[PairIn] | None = Field(
        None, description="labelled text pairs, embedded by the collection's model"
    )
    scores: list[float] | None = Field(None, description="precomputed cosines (that model)")
    labels: list[int] | None = Field(None, description="0/1 per score")
    calibration: dict[str, Any] | None = Field(
        None, description="a file written by `python -m models fit-threshold`"
    )
    method: Literal["logistic", "isotonic"] = Field(
        "logistic", description="how the confidence P(match | cosine) is fitted"
    )


class CalibrationOut(BaseModel):
    model: str
    fingerprint: str = Field(description="hash of the model folder's files it was fitted with")
    method: str
    threshold: float = Field(description="cosine at or above which the best hit matches")
    logistic: list[float] = Field(description="(a, b): P = sigmoid(a * cosine + b)")
    isotonic: list[list[float]] | None = Field(None, description="[x knots, y knots]")
    pairs: int
    positives: int
    accuracy: float = Field(description="of the threshold on the fitting pairs")
    fitted_at: float
    version: int
    usable: bool = Field(description="false when fitted for another model or model version")
    problem: str | None = Field(None, description="why it is not usable")


class MatchRequest(StrictModel):
    collection: str
    query: str
    alternatives: int = Field(3, description="runners-up returned (0-20)")
    mode: Literal["dense", "lexical", "hybrid"] = "dense"
    filter: FilterBody | None = None
    rerank: RerankBody | None = None


class MatchResponse(ResponseModel):
    collection: str
    model: str
    matched: bool
    confidence: float = Field(description="calibrated P(match) of the best hit's cosine")
    threshold: float
    hit: HitOut | None = Field(description="the best hit when matched, else null")
    alternatives: list[HitOut]


class DuplicatesJobRequest(StrictModel):
    threshold: float | None = Field(
        None,
        description="cosine at or above which two documents are duplicates; default: "
        "the collection's calibration threshold",
    )
    k: int = Field(10, description="neighbours searched per document (1-50)")
    max_documents: int = Field(10_000, description="documents scanned at most, in id order")


class ClusterMemberOut(BaseModel):
    id: str
    score: float = Field(description="cosine to the canonical document")


class ClusterOut(BaseModel):
    canonical: str = Field(description="the oldest document of the cluster")
    members: list[ClusterMemberOut]


class DuplicatesJobOut(BaseModel):
    id: str
    collection: str
    status: Literal["running", "done", "cancelled", "failed", "merged"]
    threshold: float
    k: int
    max_documents: int
    done: int = Field(description="documents scanned so far")
    total: int = Field(description="documents to scan")
    clusters: list[ClusterOut] = Field(description="when done: largest first")
    error: str | None = None
    started_at: float
    finished_at: float | None = None
    merged: int | None = Field(None, description="merge only: documents turned into aliases")
