"""The small interface every vector index implements, and its value types.

Ids are non-negative int64 assigned by the docstore; vectors are L2-normalised float32, so
inner product is cosine. `search` pads with id -1 and score -inf when fewer than k exist.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any, NamedTuple

import numpy as np

from app.enums import parse_enum


class IndexKind(StrEnum):
    FLAT = "flat"
    HNSW = "hnsw"
    IVF = "ivf"

    @classmethod
    def parse(cls, value: Any) -> IndexKind:
        return parse_enum(cls, value, "index kind")


class Backend(StrEnum):
    FAISS = "faiss"
    MILVUS = "milvus"

    @classmethod
    def parse(cls, value: Any) -> Backend:
        return parse_enum(cls, value, "backend")


_LIMITS = {
    "hnsw_m": (4, 128),
    "ef_construction": (8, 2048),
    "ef_search": (1, 4096),
    "nlist": (1, 65536),
    "nprobe": (1, 65536),
}


@dataclass(frozen=True)
class IndexSpec:
    """Index kind, dimension and the parameters that kind uses (others are ignored)."""

    kind: IndexKind
    dimension: int
    hnsw_m: int = 32
    ef_construction: int = 200
    ef_search: int = 128
    nlist: int = 1024
    nprobe: int = 32

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", IndexKind.parse(self.kind))
        if not isinstance(self.dimension, int) or not 1 <= self.dimension <= 65536:
            raise ValueError(f"dimension must be an int in [1, 65536], got {self.dimension!r}")
        for name, (lo, hi) in _LIMITS.items():
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
                raise ValueError(f"{name} must be an int in [{lo}, {hi}], got {value!r}")
        if self.nprobe > self.nlist:
            raise ValueError(f"nprobe ({self.nprobe}) must be <= nlist ({self.nlist})")

    @property
    def train_size(self) -> int:
        """IVF trains its coarse quantizer once this many vectors exist (faiss wants 39/list)."""
        return 39 * self.nlist

    def params(self) -> dict[str, int]:
        """The parameters meaningful for this kind (what the API reports)."""
        if self.kind is IndexKind.HNSW:
            keys = ("hnsw_m", "ef_construction", "ef_search")
        elif self.kind is IndexKind.IVF:
            keys = ("nlist", "nprobe")
        else:
            keys = ()
        return {k: getattr(self, k) for k in keys}

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["kind"] = self.kind.value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IndexSpec:
        return cls(**data)


class SearchHits(NamedTuple):
    """ids : (nq, k) int64, -1 where fewer than k exist; scores : (nq, k) float32, -inf there."""

    ids: np.ndarray
    scores: np.ndarray


def check_vectors(vectors: np.ndarray, dimension: int, name: str = "vectors") -> np.ndarray:
    """(n, dimension) C-contiguous float32 copy-free view, or ValueError."""
    arr = np.asarray(vectors)
    if arr.ndim != 2 or arr.shape[1] != dimension:
        raise ValueError(f"{name} must have shape (n, {dimension}), got {arr.shape}")
    if not np.issubdtype(arr.dtype, np.floating):
        raise ValueError(f"{name} must be float, got {arr.dtype}")
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf")
    return arr


def check_ids(ids: np.ndarray | list[int], n: int | None = None) -> np.ndarray:
    """(n,) int64 array of non-negative ids, or ValueError."""
    arr = np.asarray(ids, dtype=np.int64).reshape(-1)
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"expected {n} ids, got {arr.shape[0]}")
    if arr.size and arr.min() < 0:
        raise ValueError("ids must be >= 0")
    return arr


class VectorIndex(ABC):
    """Cosine (inner-product on normalised vectors) index keyed by int64 ids."""

    spec: IndexSpec

    @property
    @abstractmethod
    def size(self) -> int:
        """Number of live vectors."""

    @abstractmethod
    def upsert(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add or replace: ids (n,) int64 unique, vectors (n, dimension) float32."""

    @abstractmethod
    def remove(self, ids: np.ndarray) -> None:
        """Remove ids (n,) int64; unknown ids are ignored (replay must be idempotent)."""

    @abstractmethod
    def search(self, queries: np.ndarray, k: int) -> SearchHits:
        """Top-k by inner product for queries (nq, dimension) float32."""

    @abstractmethod
    def checkpoint(self, seq: int) -> None:
        """Persist the current state durably, tagged with docstore write sequence `seq`."""

    @abstractmethod
    def reset(self) -> None:
        """Remove every vector (the caller then rebuilds from the docstore)."""

    @abstractmethod
    def close(self) -> None:
        """Release resources (no implicit checkpoint)."""

    @abstractmethod
    def drop(self) -> None:
        """Delete persisted state."""
