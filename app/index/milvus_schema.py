"""The Milvus side of a collection: its schema, index parameters and every call made to it.

`MilvusCalls` binds a client to one Milvus collection, passes the configured consistency
level on every read, and maps Milvus' errors to the domain's: a collection dropped (by any
node) -> `CollectionNotFound`, an unreachable server -> `Unavailable`.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from app.errors import CollectionNotFound, Unavailable
from app.index.base import IndexKind, IndexSpec

log = logging.getLogger(__name__)

MAX_LIMIT = 16384  # Milvus' cap on top-k and on query offset + limit
BATCH = 1000  # rows per upsert call, ids per `in [...]` expression
MAX_TEXT_BYTES = 65535  # a Milvus VARCHAR's largest max_length
MAX_ID_BYTES = 4096  # ids are at most max_id_chars (256) characters of up to 4 bytes each


def index_params(spec: IndexSpec) -> tuple[str, dict[str, int], dict[str, int]]:
    """(Milvus index type, build params, search params) for a spec."""
    if spec.kind is IndexKind.HNSW:
        build = {"M": spec.hnsw_m, "efConstruction": spec.ef_construction}
        return "HNSW", build, {"ef": spec.ef_search}
    if spec.kind is IndexKind.IVF:
        return "IVF_FLAT", {"nlist": spec.nlist}, {"nprobe": spec.nprobe}
    return "FLAT", {}, {}


def create_data_collection(
    client: Any, milvus_name: str, spec: IndexSpec, description: str, consistency: str
) -> None:
    """The rows of one simserve collection (see milvus_collection)."""
    from pymilvus import DataType

    schema = client.create_schema(
        auto_id=False, enable_dynamic_field=False, description=description
    )
    schema.add_field("pk", DataType.VARCHAR, is_primary=True, max_length=MAX_ID_BYTES + 16)
    schema.add_field("doc_id", DataType.VARCHAR, max_length=MAX_ID_BYTES)
    schema.add_field("iid", DataType.INT64)
    schema.add_field("alias_no", DataType.INT32)
    schema.add_field("text", DataType.VARCHAR, max_length=MAX_TEXT_BYTES)
    schema.add_field("alias", DataType.VARCHAR, max_length=MAX_TEXT_BYTES)
    schema.add_field("payload", DataType.JSON)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=spec.dimension)
    kind, build, _ = index_params(spec)
    params = client.prepare_index_params()
    params.add_index(field_name="vec", index_type=kind, metric_type="IP", params=build)
    client.create_collection(
        milvus_name, schema=schema, index_params=params, consistency_level=consistency
    )


def is_not_found(exc: Exception) -> bool:
    text = str(exc).lower()
    return "not found" in text or "not exist" in text or "can't find collection" in text


def domain_error(exc: Exception, name: str) -> Exception:
    """The domain error for a pymilvus exception on collection `name`."""
    if is_not_found(exc):
        return CollectionNotFound(f"collection {name!r} not found", param="collection")
    log.warning("milvus call on %s failed: %s", name, exc)
    return Unavailable(f"the Milvus server failed or is unreachable: {type(exc).__name__}")


class MilvusCalls:
    """Calls on one Milvus collection; `name` is the simserve name (for errors)."""

    def __init__(self, client: Any, milvus_name: str, name: str, spec: IndexSpec, consistency: str):
        self.client = client
        self.milvus_name = milvus_name
        self.name = name
        self.consistency = consistency
        self._search_params = {"metric_type": "IP", "params": index_params(spec)[2]}

    def _run(self, method: str, *args, **kwargs) -> Any:
        from pymilvus.exceptions import MilvusException

        try:
            return getattr(self.client, method)(self.milvus_name, *args, **kwargs)
        except MilvusException as exc:
            raise domain_error(exc, self.name) from exc

    def upsert(self, rows: list[dict[str, Any]]) -> None:
        for start in range(0, len(rows), BATCH):
            self._run("upsert", rows[start : start + BATCH])

    def delete(self, expression: str) -> None:
        self._run("delete", filter=expression)

    def query(self, expression: str, fields: list[str]) -> list[dict[str, Any]]:
        return list(
            self._run(
                "query",
                filter=expression,
                output_fields=fields,
                consistency_level=self.consistency,
                limit=MAX_LIMIT,
            )  # fmt: skip
        )

    def count(self, expression: str) -> int:
        rows = self._run(
            "query", filter=expression, output_fields=["count(*)"],
            consistency_level=self.consistency,
        )  # fmt: skip
        return int(rows[0]["count(*)"])

    def scan(self, expression: str, fields: list[str]) -> list[dict[str, Any]]:
        """Every matching row (a query iterator: no 16384-row cap)."""
        from pymilvus.exceptions import MilvusException

        out: list[dict[str, Any]] = []
        try:
            it = self.client.query_iterator(
                self.milvus_name, batch_size=BATCH, filter=expression, output_fields=fields,
                consistency_level=self.consistency,
            )  # fmt: skip
            while batch := it.next():
                out += batch
            it.close()
        except MilvusException as exc:
            raise domain_error(exc, self.name) from exc
        return out

    def search(
        self, queries: np.ndarray, k: int, expression: str, fields: list[str]
    ) -> list[list[dict[str, Any]]]:
        """Per query, up to k rows best first: the fields plus `score` (inner product)."""
        result = self._run(
            "search", data=[q.tolist() for q in queries], limit=k, filter=expression,
            output_fields=fields, search_params=self._search_params,
            consistency_level=self.consistency,
        )  # fmt: skip
        return [[{**hit["entity"], "score": float(hit["distance"])} for hit in hits]
                for hits in result]  # fmt: skip
