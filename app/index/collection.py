"""A durable collection: SQLite docstore (the record) + a vector index (derived, rebuildable).

Writes commit to SQLite first and only then touch the index, under one lock, so a write is
acknowledged only once durable and the next search sees it. On open the index is loaded from
its checkpoint (tagged with the docstore sequence) and the rows and tombstones written after
that sequence are replayed; without a usable checkpoint it is rebuilt from every stored vector.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from app.errors import CollectionNotFound, Conflict
from app.index.base import Backend, IndexSpec, VectorIndex, check_vectors
from app.index.docstore import DeleteResult, DocStore, Document, StoredDocument
from app.index.filters import PayloadFilter

log = logging.getLogger(__name__)

DOCSTORE_FILE = "docs.sqlite"


@dataclass(frozen=True)
class CollectionConfig:
    name: str
    model: str
    backend: Backend
    spec: IndexSpec
    created_at: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "model": self.model,
            "backend": self.backend.value,
            "spec": self.spec.to_dict(),
            "created_at": self.created_at,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CollectionConfig:
        return cls(
            name=data["name"],
            model=data["model"],
            backend=Backend.parse(data["backend"]),
            spec=IndexSpec.from_dict(data["spec"]),
            created_at=float(data["created_at"]),
        )

    @property
    def dimension(self) -> int:
        return self.spec.dimension

    def check_same(self, wanted: CollectionConfig) -> None:
        """Conflict unless `wanted` has this collection's model, backend and index."""
        if (self.model, self.backend, self.spec) != (wanted.model, wanted.backend, wanted.spec):
            raise Conflict(
                f"collection {self.name!r} exists with model {self.model!r}, "
                f"backend {self.backend.value}, index {self.spec.kind.value} "
                f"{self.spec.params()}; delete it first to change them",
                param="name",
            )


class Hit(NamedTuple):
    iid: int
    id: str
    text: str
    payload: dict[str, Any]
    score: float  # cosine similarity
    alias: str | None = None  # the alias that matched best, None when the document text did


class DocumentPage(NamedTuple):
    total: int  # documents in the collection (aliases not counted)
    documents: list[StoredDocument]  # the page, in id order, with their aliases


class WriteAck(NamedTuple):
    seq: int
    count: int  # documents written or removed
    missing: list[str]  # delete only: ids that were not present
    aliases: int = 0  # aliases written (upsert) or removed with their documents (delete)
    duplicates: tuple = ()  # upsert with a duplicate check: what `before` found


# (config, collection folder) -> (index, checkpoint sequence or None)
IndexOpener = Callable[[CollectionConfig, Path], tuple[VectorIndex, int | None]]


class Collection:
    def __init__(
        self,
        folder: Path,
        config: CollectionConfig,
        docs: DocStore,
        index: VectorIndex,
        *,
        checkpoint_every: int,
        overfetch: int,
        max_fetch: int,
    ):
        self.folder = folder
        self.config = config
        self.docs = docs
        self.index = index
        self._lock = threading.RLock()
        self._checkpoint_every = checkpoint_every
        self._overfetch = overfetch
        self._max_fetch = max_fetch
        self._writes_since_checkpoint = 0
        self._next_checkpoint = checkpoint_every  # writes since the last checkpoint
        self._aliases = docs.alias_count()  # with none, an unfiltered search fetches just k
        self._closed = False

    def _check_open(self) -> None:
        if self._closed:
            raise CollectionNotFound(f"collection {self.config.name!r} was deleted")

    @classmethod
    def open(cls, folder: Path, open_index: IndexOpener, **options) -> Collection:
        docs = DocStore(Path(folder) / DOCSTORE_FILE)
        try:
            raw = docs.read_config()
            if raw is None:
                raise FileNotFoundError(f"{folder}: no collection config in the docstore")
            config = CollectionConfig.from_dict(raw)
            index, seq = open_index(config, Path(folder))
            coll = cls(Path(folder), config, docs, index, **options)
            coll._replay(seq)
        except BaseException:
            docs.close()  # no descriptor left behind by a collection that failed to open
            raise
        return coll

    @staticmethod
    def initialise(folder: Path, config: CollectionConfig) -> None:
        """Write a new collection's docstore (with its config) into an empty folder."""
        docs = DocStore(Path(folder) / DOCSTORE_FILE)
        docs.write_config(config.to_dict())
        docs.close()

    def _replay(self, checkpoint_seq: int | None) -> None:
        started, head = time.perf_counter(), self.docs.seq
        if checkpoint_seq is not None and checkpoint_seq > head:
            log.warning("%s: checkpoint seq %d is ahead of the docstore (%d); rebuilding",
                        self.config.name, checkpoint_seq, head)  # fmt: skip
            self.index.reset()
            checkpoint_seq = None
        since = -1 if checkpoint_seq is None else checkpoint_seq
        self.index.remove(self.docs.tombstones_since(since))
        n = 0
        for iids, vectors in self.docs.vectors_since(since, self.config.dimension):
            self.index.upsert(iids, vectors)
            n += len(iids)
        log.info("%s: index %s from seq %s, replayed %d vectors in %.2f s", self.config.name,
                 "loaded" if checkpoint_seq is not None else "rebuilt", since, n,
                 time.perf_counter() - started)  # fmt: skip
        if n > self._checkpoint_every or checkpoint_seq is None and n:
            self._try_checkpoint()  # e.g. a full disk must not stop serving what is durable

    # ---- writes -------------------------------------------------------------------------
    def upsert(
        self,
        documents: Sequence[Document],
        vectors: np.ndarray,
        alias_vectors: np.ndarray | None = None,
        before: Callable[[], tuple] | None = None,
    ) -> WriteAck:
        """Durably upsert documents with their (n, dimension) unit vectors; `alias_vectors`
        (a, dimension) holds one unit vector per alias, in document order. An upsert replaces
        a document's previous aliases. `before` runs under the write lock first (a duplicate
        check: it may raise to write nothing); what it returns is the ack's `duplicates`."""
        vectors = check_vectors(vectors, self.config.dimension)
        if vectors.shape[0] != len(documents):
            raise ValueError(f"{len(documents)} documents but {vectors.shape[0]} vectors")
        if alias_vectors is not None:
            alias_vectors = check_vectors(alias_vectors, self.config.dimension, "alias_vectors")
        with self._lock:
            self._check_open()
            found = before() if before is not None else ()
            result = self.docs.upsert(documents, vectors, alias_vectors)
            self.index.remove(result.replaced)
            self.index.upsert(result.iids, vectors)
            if len(result.alias_iids):
                self.index.upsert(result.alias_iids, alias_vectors)
            self._aliases += len(result.alias_iids) - len(result.replaced)
            self._wrote(len(documents) + len(result.alias_iids))
        return WriteAck(result.seq, len(documents), [], len(result.alias_iids), tuple(found))

    def delete(self, ids: Sequence[str]) -> WriteAck:
        with self._lock:
            self._check_open()
            result: DeleteResult = self.docs.delete(ids)
            self.index.remove(np.concatenate([result.iids, result.alias_iids]))
            self._aliases -= len(result.alias_iids)
            self._wrote(len(result.iids) + len(result.alias_iids))
        return WriteAck(result.seq, len(result.iids), result.missing, len(result.alias_iids))

    def _wrote(self, n: int) -> None:
        self._writes_since_checkpoint += n
        if self._writes_since_checkpoint >= self._next_checkpoint:
            self._try_checkpoint()

    def _try_checkpoint(self) -> None:
        """Checkpoint, or log why not: the write that triggered it is already durable in the
        docstore (it must be acknowledged), and start-up replays whatever the last snapshot
        lacks. A failed checkpoint is retried after another `checkpoint_every` writes."""
        try:
            self.checkpoint()
        except Exception as exc:  # OSError (ENOSPC), a full docstore (Unavailable), ...:
            self._next_checkpoint = self._writes_since_checkpoint + self._checkpoint_every
            log.error("%s: index checkpoint failed (%s); every write is in the docstore and "
                      "replayed at start-up; next try after %d more writes", self.config.name,
                      exc, self._checkpoint_every)  # fmt: skip

    def checkpoint(self) -> None:
        with self._lock:
            seq = self.docs.seq
            self.index.checkpoint(seq)
            self.docs.prune_tombstones(seq)
            self._writes_since_checkpoint = 0
            self._next_checkpoint = self._checkpoint_every

    # ---- reads --------------------------------------------------------------------------
    @property
    def size(self) -> int:
        with self._lock:
            self._check_open()
            return self.docs.count()

    def get(self, doc_id: str) -> StoredDocument | None:
        with self._lock:
            self._check_open()
            return self.docs.get(doc_id)

    def documents(self, offset: int, limit: int) -> DocumentPage:
        """A page of documents in id order, with their aliases, and the total (one state)."""
        with self._lock:
            self._check_open()
            return DocumentPage(self.docs.count(), self.docs.page(offset, limit))

    def search(
        self, queries: np.ndarray, k: int, flt: PayloadFilter | None = None
    ) -> list[list[Hit]]:
        """Top-k documents per query (nq, dimension) unit vectors, best first, filter applied.

        A document is returned once, scored by the best of its own vector and its aliases'.
        With a filter or aliases, each query fetches `overfetch * k` candidates and grows the
        fetch until k documents pass or the whole collection (or `max_fetch`) was scanned.
        """
        queries = check_vectors(queries, self.config.dimension, "queries")
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        if flt is not None and flt.is_empty:
            flt = None
        with self._lock:
            self._check_open()
            if flt is None and self._aliases == 0:
                # without filter and aliases, k vectors are k documents: one search. Hits are
                # resolved under the lock too: a concurrent drop closes the docstore.
                hits = self.index.search(queries, k)
                return [
                    self._hits(hits.ids[i], hits.scores[i], None, k) for i in range(len(queries))
                ]
        return [self._grown(q[None], k, flt) for q in queries]

    def _grown(self, query: np.ndarray, k: int, flt: PayloadFilter | None) -> list[Hit]:
        with self._lock:
            self._check_open()
            total = self.index.size
            fetch = min(max(k * self._overfetch, k), total, self._max_fetch)
            while True:
                hits = self.index.search(query, max(fetch, 1))
                out = self._hits(hits.ids[0], hits.scores[0], flt, k)
                if len(out) >= k or fetch >= min(total, self._max_fetch):
                    return out
                fetch = min(fetch * 4, total, self._max_fetch)

    def _hits(self, ids: np.ndarray, scores: np.ndarray, flt: PayloadFilter | None, k: int):
        """Hits in score order, each document once (its best-scoring vector), filter applied."""
        valid = ids >= 0
        found = self.docs.resolve(ids[valid].tolist())
        out: list[Hit] = []
        seen: set[int] = set()
        for iid, score in zip(ids[valid].tolist(), scores[valid].tolist(), strict=True):
            match = found.get(iid)
            if match is None or match.doc.iid in seen:
                continue
            doc = match.doc
            seen.add(doc.iid)
            if flt is not None and not flt.matches(doc.payload):
                continue
            out.append(Hit(doc.iid, doc.id, doc.text, doc.payload, float(score), match.alias))
            if len(out) == k:
                break
        return out

    def lexical(self, query: str, k: int, flt: PayloadFilter | None = None) -> list[Hit]:
        """Top-k documents by BM25 over the words of `query` (docs and aliases; each document
        once, by its best row), filter applied; `Hit.score` is the BM25 score here."""
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        with self._lock:
            self._check_open()
            fetch = k if flt is None and self._aliases == 0 else k * self._overfetch
            while True:
                rows = self.docs.lexical_search(query, fetch)
                ids = np.array([r[0] for r in rows] or [-1], dtype=np.int64)
                scores = np.array([r[1] for r in rows] or [0.0], dtype=np.float64)
                out = self._hits(ids, scores, flt, k)
                if len(out) >= k or len(rows) < fetch or fetch >= self._max_fetch:
                    return out
                fetch = min(fetch * 4, self._max_fetch)

    def cosines(
        self, doc_iids: Sequence[int], query: np.ndarray
    ) -> dict[int, tuple[float, str | None]]:
        """doc iid -> (best cosine of the document and its aliases to `query` (dimension,)
        unit float32, the alias that scored or None); iids no longer stored are left out."""
        query = check_vectors(np.asarray(query)[None], self.config.dimension, "query")[0]
        with self._lock:
            self._check_open()
            stored = self.docs.vectors_of(doc_iids, self.config.dimension)
        out = {}
        for iid, group in stored.items():
            if group:
                scores = [float(vec @ query) for _, vec in group]
                best = int(np.argmax(scores))
                out[iid] = (scores[best], group[best][0])
        return out

    def document_vectors(self, doc_iids: Sequence[int]) -> dict[int, np.ndarray]:
        """doc iid -> its own stored (dimension,) float32 vector (aliases not included)."""
        with self._lock:
            self._check_open()
            stored = self.docs.vectors_of(doc_iids, self.config.dimension)
        return {i: group[0][1] for i, group in stored.items() if group and group[0][0] is None}

    # ---- per-collection settings stored with the documents (e.g. the calibration) ----------
    def meta(self, key: str) -> Any:
        with self._lock:
            self._check_open()
            return self.docs.read_json(key)

    def set_meta(self, key: str, value: Any) -> None:
        with self._lock:
            self._check_open()
            self.docs.write_json(key, value)

    def merge(self, groups: Sequence[tuple[str, Sequence[str]]]) -> WriteAck:
        """Durably make each group's members aliases of its canonical document (DocStore.merge)
        and update the index to match, under the write lock."""
        with self._lock:
            self._check_open()
            result = self.docs.merge(groups)
            self.index.remove(result.removed)
            if result.merged:
                self.index.upsert(result.alias_iids, result.alias_vectors)
            self._aliases += result.merged
            self._wrote(2 * result.merged)
        return WriteAck(result.seq, result.merged, [], result.merged)

    def close(self, *, checkpoint: bool = True) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if checkpoint and self._writes_since_checkpoint:
                self._try_checkpoint()  # the docstore holds the writes either way
            self.index.close()
            self.docs.close()
