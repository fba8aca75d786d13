"""A collection whose record is a Milvus collection: no local state, any node serves it.

One Milvus row per vector. A document is the row `pk = "d:<id>"` (`alias_no` 0); its aliases
are rows `pk = "a<j>:<id>"` (`alias_no` j = 1, 2, ...). Every row carries the document's id,
`iid` (a stable 63-bit hash of the id, the same on every node), text and JSON payload, so a
filter pushed down to Milvus applies to alias rows too and one search returns whole hits.

A write is acknowledged once Milvus accepted it (it is then in Milvus' write-ahead log, so a
SIGKILL of this process loses nothing acknowledged). Reads use the configured consistency
level (Strong by default: any node sees every write acknowledged before the read began).
An upsert writes the new rows first and then deletes aliases beyond the new count: a crash
between the two (never acknowledged) can leave stale aliases until the document is written
again. Write ordering between nodes is Milvus' (last write to a primary key wins).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from app.errors import InvalidInput, ValidationFailed
from app.index.base import check_vectors
from app.index.collection import CollectionConfig, DocumentPage, Hit, WriteAck
from app.index.docstore import Document, StoredDocument
from app.index.filters import PayloadFilter
from app.index.milvus_filter import and_, in_list, quote, to_milvus
from app.index.milvus_schema import BATCH, MAX_LIMIT, MAX_TEXT_BYTES, MilvusCalls

_ROW = ["doc_id", "iid", "alias_no", "text", "alias", "payload"]
_DOCS = "alias_no == 0"


def doc_iid(doc_id: str) -> int:
    """A stable non-negative int64 for a document id (blake2b; the same on every node)."""
    return int.from_bytes(hashlib.blake2b(doc_id.encode(), digest_size=8).digest(), "big") >> 1


def _pk(doc_id: str, alias_no: int) -> str:
    return f"d:{doc_id}" if alias_no == 0 else f"a{alias_no}:{doc_id}"


class MilvusCollection:
    """Same interface as `Collection` (services use either)."""

    def __init__(
        self,
        config: CollectionConfig,
        calls: MilvusCalls,
        meta: tuple[Callable[[str], Any], Callable[[str, Any], None]],
        *,
        overfetch: int,
        max_fetch: int,
    ):
        self.config = config
        self.calls = calls  # bound to this collection's Milvus name
        self._read_meta, self._write_meta = meta
        self._overfetch = overfetch
        self._max_fetch = min(max_fetch, MAX_LIMIT)

    # ---- writes -------------------------------------------------------------------------
    def upsert(
        self,
        documents: Sequence[Document],
        vectors: np.ndarray,
        alias_vectors: np.ndarray | None = None,
        before: Callable[[], tuple] | None = None,
    ) -> WriteAck:
        """As `Collection.upsert`; `before` runs first (no lock spans nodes: a duplicate
        check sees what was acknowledged before it started)."""
        dim = self.config.dimension
        vectors = check_vectors(vectors, dim)
        if vectors.shape[0] != len(documents):
            raise ValueError(f"{len(documents)} documents but {vectors.shape[0]} vectors")
        n_alias = sum(len(d.aliases) for d in documents)
        alias_vectors = (
            np.zeros((0, dim), np.float32)
            if alias_vectors is None
            else check_vectors(alias_vectors, dim, "alias_vectors")
        )
        if alias_vectors.shape[0] != n_alias:
            raise ValueError(f"{n_alias} aliases but {alias_vectors.shape[0]} alias vectors")
        for i, doc in enumerate(documents):
            self._check_document(i, doc)
        found = before() if before is not None else ()
        rows, a = [], 0
        for doc, vec in zip(documents, vectors, strict=True):
            rows.append(self._row(doc, 0, "", vec))
            for j, alias in enumerate(doc.aliases, start=1):
                rows.append(self._row(doc, j, alias, alias_vectors[a]))
                a += 1
        self.calls.upsert(rows)
        self._drop_aliases_beyond({d.id: len(d.aliases) for d in documents})
        return WriteAck(time.time_ns() // 1000, len(documents), [], n_alias, tuple(found))

    @staticmethod
    def _check_document(i: int, doc: Document) -> None:
        if quote(doc.id) is None:
            raise InvalidInput(
                f"documents[{i}].id holds a control character, which backend milvus cannot "
                "store", param=f"documents[{i}].id",
            )  # fmt: skip
        for what, text in (("text", doc.text), *(("aliases", a) for a in doc.aliases)):
            if len(text.encode()) > MAX_TEXT_BYTES:
                raise ValidationFailed(
                    f"documents[{i}].{what}: over {MAX_TEXT_BYTES} UTF-8 bytes, the most a "
                    "Milvus VARCHAR holds", param=f"documents[{i}].{what}",
                )  # fmt: skip

    @staticmethod
    def _row(doc: Document, alias_no: int, alias: str, vec: np.ndarray) -> dict[str, Any]:
        return {
            "pk": _pk(doc.id, alias_no),
            "doc_id": doc.id,
            "iid": doc_iid(doc.id),
            "alias_no": alias_no,
            "text": doc.text,
            "alias": alias,
            "payload": dict(doc.payload),
            "vec": vec.tolist(),
        }

    def _drop_aliases_beyond(self, counts: dict[str, int]) -> None:
        by_count: dict[int, list[str]] = {}
        for doc_id, n in counts.items():
            by_count.setdefault(n, []).append(doc_id)
        for n, ids in by_count.items():
            for start in range(0, len(ids), BATCH):
                self.calls.delete(
                    and_(f"alias_no > {n}", in_list("doc_id", ids[start : start + BATCH]))
                )

    def delete(self, ids: Sequence[str]) -> WriteAck:
        ids = list(dict.fromkeys(ids))
        rows = self._rows_of(ids, ["doc_id", "alias_no"])
        present = {r["doc_id"] for r in rows if r["alias_no"] == 0}
        quotable = [i for i in present if quote(i) is not None]
        for start in range(0, len(quotable), BATCH):
            self.calls.delete(in_list("doc_id", quotable[start : start + BATCH]))
        aliases = sum(1 for r in rows if r["alias_no"] > 0 and r["doc_id"] in present)
        missing = [i for i in ids if i not in present]
        return WriteAck(time.time_ns() // 1000, len(present), missing, aliases)

    def merge(self, groups: Sequence[tuple[str, Sequence[str]]]) -> WriteAck:
        """Make each group's members aliases of its canonical document (as `DocStore.merge`):
        a member's text and aliases become aliases of the canonical document with their own
        vectors; then the member's rows are deleted. Gone documents are skipped."""
        merged = 0
        for canonical, members in groups:
            members = [m for m in dict.fromkeys(members) if m != canonical]
            rows = self._rows_of([canonical, *members], [*_ROW, "vec"])
            head = next((r for r in rows if r["doc_id"] == canonical and r["alias_no"] == 0), None)
            if head is None:
                continue
            doc = Document(canonical, head["text"], head["payload"])
            next_no = 1 + max(r["alias_no"] for r in rows if r["doc_id"] == canonical)
            new, gone = [], []
            for member in members:
                own = sorted(
                    (r for r in rows if r["doc_id"] == member), key=lambda r: r["alias_no"]
                )
                if not own or own[0]["alias_no"] != 0:
                    continue
                for r in own:
                    text = r["text"] if r["alias_no"] == 0 else r["alias"]
                    new.append(self._row(doc, next_no, text, np.asarray(r["vec"], np.float32)))
                    next_no += 1
                gone.append(member)
            if gone:
                self.calls.upsert(new)
                self.calls.delete(in_list("doc_id", gone))
                merged += len(gone)
        return WriteAck(time.time_ns() // 1000, merged, [], merged)

    # ---- reads --------------------------------------------------------------------------
    def _rows_of(self, ids: Sequence[str], fields: list[str]) -> list[dict[str, Any]]:
        """Every row (document and aliases) of these document ids."""
        out: list[dict[str, Any]] = []
        ids = [i for i in ids if quote(i) is not None]
        for start in range(0, len(ids), BATCH):
            out += self.calls.query(in_list("doc_id", ids[start : start + BATCH]), fields)
        return out

    @staticmethod
    def _stored(rows: list[dict[str, Any]]) -> list[StoredDocument]:
        groups: dict[str, list[dict[str, Any]]] = {}
        for r in rows:
            groups.setdefault(r["doc_id"], []).append(r)
        out = []
        for doc_id, group in groups.items():
            group.sort(key=lambda r: r["alias_no"])
            if group[0]["alias_no"] != 0:
                continue  # aliases left by an interrupted write without their document
            head = group[0]
            aliases = tuple(r["alias"] for r in group[1:])
            out.append(StoredDocument(head["iid"], doc_id, head["text"], head["payload"], aliases))
        return out

    @property
    def size(self) -> int:
        return self.calls.count(_DOCS)

    def get(self, doc_id: str) -> StoredDocument | None:
        found = self._stored(self._rows_of([doc_id], _ROW))
        return found[0] if found else None

    def documents(self, offset: int, limit: int) -> DocumentPage:
        """A page in id order. Milvus 2.3 cannot sort, so every document id is read (one
        iterator pass) and sorted here: fine for browsing, linear in the collection."""
        ids = sorted(r["doc_id"] for r in self.calls.scan(_DOCS, ["doc_id"]))
        page = ids[offset : offset + limit]
        docs = {d.id: d for d in self._stored(self._rows_of(page, _ROW))}
        return DocumentPage(len(ids), [docs[i] for i in page if i in docs])

    def search(
        self, queries: np.ndarray, k: int, flt: PayloadFilter | None = None
    ) -> list[list[Hit]]:
        """Top-k documents per query (nq, dimension) unit vectors, filter pushed down.

        A document is returned once, scored by its best row (own vector or an alias). The
        first fetch is k rows (k x overfetch when part of the filter stays in Python); while
        fewer than k distinct documents come back and Milvus returned a full fetch, the fetch
        grows x4 (up to max_fetch): exact under any filter Milvus evaluates.
        """
        queries = check_vectors(queries, self.config.dimension, "queries")
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        pushed = to_milvus(flt)
        fetch = min(k if pushed.residual is None else k * self._overfetch, self._max_fetch)
        first = self.calls.search(queries, fetch, pushed.expression, _ROW)
        out = []
        for q, rows in zip(queries, first, strict=True):
            size = fetch
            hits = self._hits(rows, pushed.residual, k)
            while len(hits) < k and len(rows) >= size and size < self._max_fetch:
                size = min(size * 4, self._max_fetch)
                rows = self.calls.search(q[None], size, pushed.expression, _ROW)[0]
                hits = self._hits(rows, pushed.residual, k)
            out.append(hits)
        return out

    @staticmethod
    def _hits(rows: list[dict[str, Any]], residual: PayloadFilter | None, k: int) -> list[Hit]:
        out: list[Hit] = []
        seen: set[str] = set()
        for r in rows:  # best first
            if r["doc_id"] in seen:
                continue
            seen.add(r["doc_id"])
            if residual is not None and not residual.matches(r["payload"]):
                continue
            alias = r["alias"] if r["alias_no"] else None
            out.append(Hit(r["iid"], r["doc_id"], r["text"], r["payload"], r["score"], alias))
            if len(out) == k:
                break
        return out

    def lexical(self, query: str, k: int, flt: PayloadFilter | None = None) -> list[Hit]:
        raise ValidationFailed(
            f"collection {self.config.name!r} uses backend milvus, which has no words index "
            "(BM25 needs the faiss backend's docstore); use mode dense",
            param="mode",
        )

    def _vectors(self, doc_iids: Sequence[int], expr: str) -> list[dict[str, Any]]:
        iids = [int(i) for i in dict.fromkeys(doc_iids)]
        out: list[dict[str, Any]] = []
        for start in range(0, len(iids), BATCH):
            out += self.calls.query(
                and_(in_list("iid", iids[start : start + BATCH]), expr),
                ["iid", "alias_no", "alias", "vec"],
            )
        return out

    def cosines(
        self, doc_iids: Sequence[int], query: np.ndarray
    ) -> dict[int, tuple[float, str | None]]:
        query = check_vectors(np.asarray(query)[None], self.config.dimension, "query")[0]
        best: dict[int, tuple[float, str | None]] = {}
        for r in self._vectors(doc_iids, ""):
            score = float(np.asarray(r["vec"], np.float32) @ query)
            if r["iid"] not in best or score > best[r["iid"]][0]:
                best[r["iid"]] = (score, r["alias"] if r["alias_no"] else None)
        return best

    def document_vectors(self, doc_iids: Sequence[int]) -> dict[int, np.ndarray]:
        return {r["iid"]: np.asarray(r["vec"], np.float32) for r in self._vectors(doc_iids, _DOCS)}

    # ---- per-collection settings (the calibration), in the namespace's meta collection ----
    def meta(self, key: str) -> Any:
        return self._read_meta(key)

    def set_meta(self, key: str, value: Any) -> None:
        self._write_meta(key, value)

    def checkpoint(self) -> None:
        """Nothing to do: Milvus holds every acknowledged write."""

    def close(self, *, checkpoint: bool = True) -> None:
        """Nothing to release: the client is shared by the catalog."""
