"""Milvus implementation of `VectorIndex` (pymilvus `MilvusClient`; milvus-lite in tests).

Milvus is a derived index like FAISS: the SQLite docstore stays the record. `checkpoint`
flushes the Milvus collection and then atomically writes the docstore sequence it reflects
to a small JSON file in the collection folder; on open, writes after that sequence are
replayed (upsert and delete by primary key are idempotent). Without a valid checkpoint
the Milvus collection is dropped and rebuilt. Consistency level Strong, so a search right
after an acknowledged upsert sees it.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from app.index.atomic import atomic_write
from app.index.base import IndexKind, IndexSpec, SearchHits, VectorIndex, check_ids, check_vectors

log = logging.getLogger(__name__)

MAX_LIMIT = 16384  # Milvus' cap on top-k
_PK, _VEC = "iid", "vec"


def milvus_name(name: str) -> str:
    """Milvus allows [A-Za-z0-9_]; keep the name readable and unique with a short hash."""
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]
    return f"simserve_{name.replace('-', '_')}_{digest}"


def _index_params(spec: IndexSpec) -> tuple[str, dict[str, int], dict[str, int]]:
    """(Milvus index type, build params, search params) for a spec."""
    if spec.kind is IndexKind.HNSW:
        build = {"M": spec.hnsw_m, "efConstruction": spec.ef_construction}
        return "HNSW", build, {"ef": spec.ef_search}
    if spec.kind is IndexKind.IVF:
        return "IVF_FLAT", {"nlist": spec.nlist}, {"nprobe": spec.nprobe}
    return "FLAT", {}, {}


class MilvusIndex(VectorIndex):
    def __init__(self, client: Any, name: str, spec: IndexSpec, checkpoint_path: Path):
        self.client = client
        self.name = milvus_name(name)
        self.spec = spec
        self.checkpoint_path = Path(checkpoint_path)
        self._type, self._build, self._search = _index_params(spec)

    @classmethod
    def open(cls, client: Any, name: str, spec: IndexSpec, checkpoint_path: Path):
        """(index, seq) from the checkpoint, or (freshly created index, None)."""
        index = cls(client, name, spec, checkpoint_path)
        seq = index._read_checkpoint()
        if seq is None or not client.has_collection(index.name):
            index.reset()
            return index, None
        client.load_collection(index.name)
        return index, seq

    def _read_checkpoint(self) -> int | None:
        try:
            data = json.loads(self.checkpoint_path.read_text())
            if data["collection"] != self.name or IndexSpec.from_dict(data["spec"]) != self.spec:
                raise ValueError("checkpoint is for another collection or spec")
            return int(data["seq"])
        except FileNotFoundError:
            return None
        except Exception as exc:  # only costs a rebuild from the docstore
            log.warning("ignoring unusable Milvus checkpoint %s: %s", self.checkpoint_path, exc)
            return None

    def reset(self) -> None:
        from pymilvus import DataType

        if self.client.has_collection(self.name):
            self.client.drop_collection(self.name)
        schema = self.client.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field(_PK, DataType.INT64, is_primary=True)
        schema.add_field(_VEC, DataType.FLOAT_VECTOR, dim=self.spec.dimension)
        params = self.client.prepare_index_params()
        params.add_index(
            field_name=_VEC, index_type=self._type, metric_type="IP", params=self._build
        )
        self.client.create_collection(
            self.name, schema=schema, index_params=params, consistency_level="Strong"
        )
        self.checkpoint_path.unlink(missing_ok=True)

    @property
    def size(self) -> int:
        rows = self.client.query(self.name, filter="", output_fields=["count(*)"])
        return int(rows[0]["count(*)"])

    def upsert(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        vectors = check_vectors(vectors, self.spec.dimension)
        ids = check_ids(ids, vectors.shape[0])
        if len(np.unique(ids)) != len(ids):
            raise ValueError("ids in one upsert must be unique")
        for start in range(0, len(ids), 1000):
            rows = [
                {_PK: int(i), _VEC: v}
                for i, v in zip(
                    ids[start : start + 1000], vectors[start : start + 1000], strict=True
                )
            ]
            self.client.upsert(self.name, rows)

    def remove(self, ids: np.ndarray) -> None:
        ids = check_ids(ids)
        for start in range(0, len(ids), 1000):
            self.client.delete(self.name, ids=ids[start : start + 1000].tolist())

    def search(self, queries: np.ndarray, k: int) -> SearchHits:
        queries = check_vectors(queries, self.spec.dimension, "queries")
        if not 1 <= k <= MAX_LIMIT:
            raise ValueError(f"k must be in [1, {MAX_LIMIT}] for Milvus, got {k}")
        nq = len(queries)
        ids = np.full((nq, k), -1, dtype=np.int64)
        scores = np.full((nq, k), -np.inf, dtype=np.float32)
        if nq == 0:
            return SearchHits(ids, scores)
        result = self.client.search(
            self.name,
            data=list(queries),
            limit=k,
            search_params={"metric_type": "IP", "params": self._search},
            output_fields=[_PK],  # not the vectors (returned by default)
            consistency_level="Strong",
        )
        for row, hits in enumerate(result):
            for col, hit in enumerate(hits[:k]):
                ids[row, col] = int(hit[_PK])
                scores[row, col] = float(hit["distance"])
        return SearchHits(ids, scores)

    def checkpoint(self, seq: int) -> None:
        self.client.flush(self.name)
        data = json.dumps({"seq": int(seq), "collection": self.name, "spec": self.spec.to_dict()})
        atomic_write(self.checkpoint_path, lambda fh: fh.write(data.encode()))

    def close(self) -> None:
        pass  # the client is shared by every collection of the store

    def drop(self) -> None:
        if self.client.has_collection(self.name):
            self.client.drop_collection(self.name)
        self.checkpoint_path.unlink(missing_ok=True)
