"""Collection use-cases: create/list/describe/drop, upsert and delete documents, get one.

Vectors come from the collection's own model through `EmbeddingService`, so queries and
documents always share an embedding space; a caller may also send vectors, which must have
the collection's dimension. Blocking index and SQLite work runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.engines.pooling import l2_normalize
from app.errors import Conflict, DocumentNotFound, InvalidInput, PayloadTooLarge, ValidationFailed
from app.index.base import Backend, IndexKind, IndexSpec
from app.index.collection import Collection, CollectionConfig, WriteAck
from app.index.docstore import Document, StoredDocument
from app.index.store import CollectionStore, validate_name
from app.services.embedding import EmbeddingService
from app.services.texts import check_count, check_text
from app.settings import CollectionSettings, LimitsSettings


@dataclass(frozen=True)
class CollectionInfo:
    name: str
    model: str
    backend: str
    index: str
    params: dict[str, int]
    dimension: int
    size: int
    created_at: float


@dataclass(frozen=True)
class DocumentInput:
    id: str
    text: str
    payload: Mapping[str, Any]
    vector: Sequence[float] | None = None


def info(coll: Collection) -> CollectionInfo:
    c = coll.config
    return CollectionInfo(
        c.name, c.model, c.backend.value, c.spec.kind.value, c.spec.params(), c.dimension,
        coll.size, c.created_at,
    )  # fmt: skip


class CollectionService:
    def __init__(
        self,
        store: CollectionStore,
        embeddings: EmbeddingService,
        settings: CollectionSettings,
        limits: LimitsSettings,
    ):
        self.store = store
        self.embeddings = embeddings
        self.settings = settings
        self.limits = limits

    # ---- collections --------------------------------------------------------------------
    async def create(
        self,
        name: str,
        *,
        model: str | None = None,
        backend: str | None = None,
        index: str | None = None,
        params: Mapping[str, int] | None = None,
    ) -> tuple[CollectionInfo, bool]:
        validate_name(name)
        served = self.embeddings.model(model)
        try:
            kind = IndexKind.parse(index or self.settings.default_index)
        except ValueError as exc:
            raise ValidationFailed(str(exc), param="index") from None
        try:
            chosen = Backend.parse(backend or self.settings.default_backend)
        except ValueError as exc:
            raise ValidationFailed(str(exc), param="backend") from None
        try:
            spec = IndexSpec(kind, served.manifest.dimension, **dict(params or {}))
        except (TypeError, ValueError) as exc:
            raise ValidationFailed(f"invalid index params: {exc}", param="params") from None
        config = CollectionConfig(name, served.name, chosen, spec, time.time())
        coll, created = await asyncio.to_thread(self.store.create, config)
        return await asyncio.to_thread(info, coll), created

    async def list(self) -> list[CollectionInfo]:
        return await asyncio.to_thread(lambda: [info(c) for c in self.store.list()])

    async def describe(self, name: str) -> CollectionInfo:
        return await asyncio.to_thread(info, self.store.get(name))

    async def drop(self, name: str) -> None:
        await asyncio.to_thread(self.store.drop, name)

    def model_for(self, coll: Collection, requested: str | None = None) -> str:
        """The collection's model, checked to be served with the collection's dimension."""
        c = coll.config
        if requested is not None and requested != c.model:
            raise Conflict(
                f"collection {c.name!r} holds vectors of model {c.model!r}, not {requested!r}",
                param="model",
            )
        if c.model not in self.embeddings.registry.names():
            raise Conflict(
                f"collection {c.name!r} uses model {c.model!r}, which this server does not "
                f"serve (serving {self.embeddings.registry.names()})",
                param="model",
            )
        dim = self.embeddings.model(c.model).manifest.dimension
        if dim != c.dimension:
            raise Conflict(
                f"model {c.model!r} now yields {dim}-d vectors but collection {c.name!r} "
                f"holds {c.dimension}-d ones; re-create the collection",
                param="model",
            )
        return c.model

    # ---- documents ----------------------------------------------------------------------
    def _check_documents(self, docs: Sequence[DocumentInput], dimension: int) -> None:
        check_count(len(docs), self.settings.max_documents_per_request, "documents")
        for i, doc in enumerate(docs):
            p = f"documents[{i}]"
            if not doc.id or len(doc.id) > self.settings.max_id_chars:
                raise InvalidInput(
                    f"{p}.id must have 1-{self.settings.max_id_chars} characters", param=f"{p}.id"
                )
            check_text(doc.text, f"{p}.text", self.limits)
            if len(json.dumps(doc.payload)) > self.settings.max_payload_bytes:
                raise PayloadTooLarge(
                    f"{p}.payload is over {self.settings.max_payload_bytes} bytes as JSON",
                    param=f"{p}.payload",
                )
            if doc.vector is not None and len(doc.vector) != dimension:
                raise ValidationFailed(
                    f"{p}.vector has {len(doc.vector)} dimensions; the collection has {dimension}",
                    param=f"{p}.vector",
                )

    async def upsert(self, name: str, docs: Sequence[DocumentInput]) -> WriteAck:
        """Embed (unless vectors are given) and durably upsert; the last of repeated ids wins."""
        coll = self.store.get(name)
        self._check_documents(docs, coll.config.dimension)
        docs = list({d.id: d for d in docs}.values())
        given = [d.vector is not None for d in docs]
        vectors = np.zeros((len(docs), coll.config.dimension), dtype=np.float32)
        if any(given):
            rows = [i for i, g in enumerate(given) if g]
            vectors[rows] = np.asarray([docs[i].vector for i in rows], dtype=np.float32)
            if np.any(np.linalg.norm(vectors[rows], axis=1) == 0):
                raise ValidationFailed("a document vector is all zeros", param="documents")
        if not all(given):
            model = self.model_for(coll)
            rows = [i for i, g in enumerate(given) if not g]
            for start in range(0, len(rows), self.limits.max_texts):
                chunk = rows[start : start + self.limits.max_texts]
                emb = await self.embeddings.embed([docs[i].text for i in chunk], model=model)
                vectors[chunk] = emb.vectors
        vectors = l2_normalize(vectors)
        documents = [Document(d.id, d.text, dict(d.payload)) for d in docs]
        return await asyncio.to_thread(coll.upsert, documents, vectors)

    async def delete(self, name: str, ids: Sequence[str]) -> WriteAck:
        coll = self.store.get(name)
        check_count(len(ids), self.settings.max_documents_per_request, "ids")
        return await asyncio.to_thread(coll.delete, list(ids))

    async def get(self, name: str, doc_id: str) -> StoredDocument:
        coll = self.store.get(name)
        doc = await asyncio.to_thread(coll.get, doc_id)
        if doc is None:
            raise DocumentNotFound(f"document {doc_id!r} not in collection {name!r}", param="id")
        return doc
