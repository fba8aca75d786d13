"""SQLite docstore: the durable record of a collection (config, documents, vectors, sequence).

WAL journal with synchronous=FULL: a write returns only after its commit record is fsynced,
so anything acknowledged survives a SIGKILL or power cut. SQLite checksums WAL frames and
ignores a torn last transaction on recovery, which is the "torn tail tolerated" guarantee.

Each write transaction bumps `seq` (monotonic) and stamps the rows it touches; deletions leave
a tombstone `(iid, seq)` so an index snapshot tagged with seq S is brought up to date by
replaying rows and tombstones with seq > S. Internal ids (`iid`) are never reused
(AUTOINCREMENT), so replay order between tombstones and rows does not matter.

Aliases (other phrasings of a document, e.g. generated similar questions) are rows of their
own with a vector and an iid drawn from the same AUTOINCREMENT counter as documents, so the
index holds them like documents and a hit on one resolves to its document. They belong to
the document: an upsert replaces them and a delete removes them (both leave tombstones).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from app.errors import Unavailable
from app.index import lexical

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS docs (
    iid INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    text TEXT NOT NULL,
    payload TEXT NOT NULL,
    vector BLOB NOT NULL,
    seq INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS docs_seq ON docs(seq);
CREATE TABLE IF NOT EXISTS tombstones (iid INTEGER PRIMARY KEY, seq INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS tombstones_seq ON tombstones(seq);
CREATE TABLE IF NOT EXISTS aliases (
    iid INTEGER PRIMARY KEY,
    doc_iid INTEGER NOT NULL,
    text TEXT NOT NULL,
    vector BLOB NOT NULL,
    seq INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS aliases_doc ON aliases(doc_iid);
CREATE INDEX IF NOT EXISTS aliases_seq ON aliases(seq);
"""


@dataclass(frozen=True)
class Document:
    id: str
    text: str
    payload: Mapping[str, Any] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()  # indexed with their own vectors, resolve to this document


@dataclass(frozen=True)
class StoredDocument:
    iid: int
    id: str
    text: str
    payload: dict[str, Any]
    aliases: tuple[str, ...] = ()  # filled by `get` only


class Resolved(NamedTuple):
    doc: StoredDocument
    alias: str | None  # the alias text when the iid is an alias, else None


class UpsertResult(NamedTuple):
    seq: int
    iids: np.ndarray  # (n,) int64, aligned with the (deduplicated) input documents
    alias_iids: np.ndarray  # (a,) int64, aligned with the aliases in document order
    replaced: np.ndarray  # (r,) int64 iids of the aliases these documents had before


class MergeResult(NamedTuple):
    seq: int
    merged: int  # documents turned into aliases
    removed: np.ndarray  # (m,) int64 iids of those documents
    alias_iids: np.ndarray  # (m,) int64 iids of the aliases made of their texts
    alias_vectors: np.ndarray | None  # (m, d) float32, their vectors (None when m = 0)


class DeleteResult(NamedTuple):
    seq: int
    iids: np.ndarray  # (m,) int64 of the documents actually removed
    missing: list[str]  # ids that were not present
    alias_iids: np.ndarray  # (r,) int64 of their aliases, removed with them


class DocStore:
    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.executescript(SCHEMA)
            self._open_lexical()
        except BaseException:  # e.g. "file is not a database"
            self._conn.close()
            raise

    def _open_lexical(self) -> None:
        """The FTS5 words index beside the documents; (re)built in one transaction when the
        store predates it or was indexed by another analyzer version."""
        self._conn.execute(lexical.TABLE_SQL)
        if self._meta("lexical") != lexical.ANALYZER_VERSION:
            with self._transaction():
                lexical.rebuild(self._conn)
                self._set_meta("lexical", lexical.ANALYZER_VERSION)

    # ---- meta ---------------------------------------------------------------------------
    def read_json(self, key: str) -> Any:
        """A JSON value stored under `key` in meta (e.g. the calibration), or None."""
        with self._lock:
            value = self._meta(f"json:{key}")
        return None if value is None else json.loads(value)

    def write_json(self, key: str, value: Any) -> None:
        """Durably store (None: remove) a JSON value under `key`."""
        with self._lock, self._transaction():
            if value is None:
                self._conn.execute("DELETE FROM meta WHERE key = ?", (f"json:{key}",))
            else:
                self._set_meta(f"json:{key}", json.dumps(value))

    def _meta(self, key: str) -> str | None:
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def _set_meta(self, key: str, value: str) -> None:
        self._conn.execute(
            "INSERT INTO meta(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def read_config(self) -> dict[str, Any] | None:
        with self._lock:
            value = self._meta("config")
        return None if value is None else json.loads(value)

    def write_config(self, config: Mapping[str, Any]) -> None:
        with self._lock, self._transaction():
            self._set_meta("config", json.dumps(dict(config)))

    @property
    def seq(self) -> int:
        with self._lock:
            return int(self._meta("seq") or 0)

    def count(self) -> int:
        """Documents (aliases not counted)."""
        with self._lock:
            return int(self._conn.execute("SELECT count(*) FROM docs").fetchone()[0])

    def alias_count(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT count(*) FROM aliases").fetchone()[0])

    # ---- writes -------------------------------------------------------------------------
    def _transaction(self):
        conn = self._conn

        class _Tx:
            def __enter__(self):
                conn.execute("BEGIN IMMEDIATE")

            def __exit__(self, exc_type, exc, tb):
                if exc_type is None:
                    try:
                        conn.execute("COMMIT")
                        return
                    except sqlite3.Error as failed:  # e.g. disk full: still in the transaction
                        exc = failed
                if conn.in_transaction:  # SQLite may have rolled back itself (SQLITE_FULL)
                    conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.OperationalError) and "full" in str(exc):
                    raise Unavailable("the server's disk is full: the write was not applied")
                if exc_type is None:
                    raise exc

        return _Tx()

    def _next_seq(self) -> int:
        seq = int(self._meta("seq") or 0) + 1
        self._set_meta("seq", str(seq))
        return seq

    def upsert(
        self, docs: Sequence[Document], vectors: np.ndarray, alias_vectors: np.ndarray | None = None
    ) -> UpsertResult:
        """Insert or replace documents by id (aliases included), in one durable transaction.

        Parameters
        ----------
        docs : n documents with unique ids
        vectors : (n, d) float32, row i belongs to docs[i]
        alias_vectors : (a, d) float32, one row per alias in document order (a = total aliases);
            may be None when no document has aliases
        """
        vectors = np.ascontiguousarray(vectors, dtype="<f4")
        if vectors.ndim != 2 or vectors.shape[0] != len(docs):
            raise ValueError(f"vectors must have shape ({len(docs)}, d), got {vectors.shape}")
        if len({d.id for d in docs}) != len(docs):
            raise ValueError("document ids in one upsert must be unique")
        n_alias = sum(len(d.aliases) for d in docs)
        if alias_vectors is None:
            alias_vectors = np.zeros((0, vectors.shape[1]), dtype="<f4")
        alias_vectors = np.ascontiguousarray(alias_vectors, dtype="<f4")
        if alias_vectors.shape != (n_alias, vectors.shape[1]):
            raise ValueError(
                f"alias_vectors must have shape ({n_alias}, {vectors.shape[1]}), "
                f"got {alias_vectors.shape}"
            )
        iids = np.empty(len(docs), dtype=np.int64)
        with self._lock, self._transaction():
            seq = self._next_seq()
            for i, (doc, vec) in enumerate(zip(docs, vectors, strict=True)):
                row = self._conn.execute(
                    "INSERT INTO docs(id, text, payload, vector, seq) VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT(id) DO UPDATE SET text = excluded.text, "
                    "payload = excluded.payload, vector = excluded.vector, seq = excluded.seq "
                    "RETURNING iid",
                    (doc.id, doc.text, json.dumps(dict(doc.payload)), vec.tobytes(), seq),
                ).fetchone()
                iids[i] = row[0]
            replaced = self._drop_aliases(iids.tolist(), seq)
            alias_iids = self._reserve_iids(n_alias)
            rows = (
                (int(a), int(doc_iid), text, vec.tobytes(), seq)
                for a, (doc_iid, text), vec in zip(
                    alias_iids, self._alias_owners(docs, iids), alias_vectors, strict=True
                )
            )
            owners = self._alias_owners(docs, iids)
            self._conn.executemany(
                "INSERT INTO aliases(iid, doc_iid, text, vector, seq) VALUES (?, ?, ?, ?, ?)", rows
            )
            texts = [d.text for d in docs] + [t for _, t in owners]
            lexical.write_rows(self._conn, zip([*iids, *alias_iids], texts, strict=True))
        return UpsertResult(seq, iids, alias_iids, replaced)

    @staticmethod
    def _alias_owners(docs: Sequence[Document], iids: np.ndarray) -> list[tuple[int, str]]:
        return [(int(i), text) for doc, i in zip(docs, iids, strict=True) for text in doc.aliases]

    def _reserve_iids(self, n: int) -> np.ndarray:
        """n fresh iids from the documents' AUTOINCREMENT counter (inside a transaction).

        SQLite gives the next document max(largest iid, sqlite_sequence) + 1, so raising the
        counter reserves the range for aliases: iids stay unique and are never reused."""
        if n == 0:
            return np.zeros(0, dtype=np.int64)
        top = self._conn.execute(
            "UPDATE sqlite_sequence SET seq = seq + ? WHERE name = 'docs' RETURNING seq", (n,)
        ).fetchone()
        if top is None:  # no document was ever inserted; upsert inserts one first, so unused
            self._conn.execute("INSERT INTO sqlite_sequence(name, seq) VALUES ('docs', ?)", (n,))
            top = (n,)
        return np.arange(top[0] - n + 1, top[0] + 1, dtype=np.int64)

    def _drop_aliases(self, doc_iids: Sequence[int], seq: int) -> np.ndarray:
        """Delete the aliases of these documents, tombstoned at `seq`; returns their iids."""
        dropped: list[int] = []
        for doc_iid in doc_iids:
            rows = self._conn.execute(
                "DELETE FROM aliases WHERE doc_iid = ? RETURNING iid", (doc_iid,)
            ).fetchall()
            dropped += [r[0] for r in rows]
        lexical.remove_rows(self._conn, dropped)
        self._conn.executemany(
            "INSERT OR REPLACE INTO tombstones(iid, seq) VALUES (?, ?)", ((i, seq) for i in dropped)
        )
        return np.array(dropped, dtype=np.int64)

    def delete(self, ids: Sequence[str]) -> DeleteResult:
        """Remove documents by id in one durable transaction; absent ids are reported."""
        removed: list[int] = []
        missing: list[str] = []
        with self._lock, self._transaction():
            seq = self._next_seq()
            for doc_id in dict.fromkeys(ids):
                row = self._conn.execute(
                    "DELETE FROM docs WHERE id = ? RETURNING iid", (doc_id,)
                ).fetchone()
                if row is None:
                    missing.append(doc_id)
                    continue
                removed.append(row[0])
                lexical.remove_rows(self._conn, [row[0]])
                self._conn.execute(
                    "INSERT OR REPLACE INTO tombstones(iid, seq) VALUES (?, ?)", (row[0], seq)
                )
            aliases = self._drop_aliases(removed, seq)
        return DeleteResult(seq, np.array(removed, dtype=np.int64), missing, aliases)

    def prune_tombstones(self, upto_seq: int) -> None:
        """Forget tombstones an index checkpoint at `upto_seq` already reflects."""
        with self._lock, self._transaction():
            self._conn.execute("DELETE FROM tombstones WHERE seq <= ?", (upto_seq,))

    # ---- reads --------------------------------------------------------------------------
    @staticmethod
    def _doc(row) -> StoredDocument:
        return StoredDocument(row[0], row[1], row[2], json.loads(row[3]))

    def get(self, doc_id: str) -> StoredDocument | None:
        """The document with its aliases (in insertion order)."""
        with self._lock:
            row = self._conn.execute(
                "SELECT iid, id, text, payload FROM docs WHERE id = ?", (doc_id,)
            ).fetchone()
            if row is None:
                return None
            aliases = self._conn.execute(
                "SELECT text FROM aliases WHERE doc_iid = ? ORDER BY iid", (row[0],)
            ).fetchall()
        return StoredDocument(
            row[0], row[1], row[2], json.loads(row[3]), tuple(a[0] for a in aliases)
        )

    def page(self, offset: int, limit: int) -> list[StoredDocument]:
        """Documents `offset .. offset + limit - 1` in id order, each with its aliases."""
        if offset < 0 or limit < 0:
            raise ValueError(f"offset and limit must be >= 0, got {offset}, {limit}")
        with self._lock:
            rows = self._conn.execute(
                "SELECT iid, id, text, payload FROM docs ORDER BY id LIMIT ? OFFSET ?",
                (limit, offset),
            ).fetchall()
            aliases: dict[int, list[str]] = {r[0]: [] for r in rows}
            if rows:
                marks = ",".join("?" * len(rows))
                for doc_iid, text in self._conn.execute(
                    f"SELECT doc_iid, text FROM aliases WHERE doc_iid IN ({marks}) ORDER BY iid",
                    [r[0] for r in rows],
                ):
                    aliases[doc_iid].append(text)
        return [
            StoredDocument(r[0], r[1], r[2], json.loads(r[3]), tuple(aliases[r[0]])) for r in rows
        ]

    def resolve(self, iids: Sequence[int]) -> dict[int, Resolved]:
        """Each iid that still exists -> its document (for an alias: its owner and the alias)."""
        out: dict[int, Resolved] = {}
        unique = list(dict.fromkeys(int(i) for i in iids))
        with self._lock:
            for start in range(0, len(unique), 900):  # SQLite's bound-variable limit
                chunk = unique[start : start + 900]
                marks = ",".join("?" * len(chunk))
                for row in self._conn.execute(
                    f"SELECT iid, id, text, payload FROM docs WHERE iid IN ({marks})", chunk
                ):
                    out[row[0]] = Resolved(self._doc(row), None)
                rest = [i for i in chunk if i not in out]
                if not rest:
                    continue
                marks = ",".join("?" * len(rest))
                for row in self._conn.execute(
                    "SELECT a.iid, a.text, d.iid, d.id, d.text, d.payload FROM aliases a "
                    f"JOIN docs d ON d.iid = a.doc_iid WHERE a.iid IN ({marks})",
                    rest,
                ):
                    out[row[0]] = Resolved(self._doc(row[2:]), row[1])
        return out

    def vectors_since(
        self, seq: int, dimension: int, batch: int = 8192
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield (iids (b,) int64, vectors (b, dimension) float32) of the documents, then the
        aliases, written after `seq`."""
        for table in ("docs", "aliases"):
            last = -1
            while True:
                with self._lock:
                    rows = self._conn.execute(
                        f"SELECT iid, vector FROM {table} WHERE seq > ? AND iid > ? "
                        "ORDER BY iid LIMIT ?",
                        (seq, last, batch),
                    ).fetchall()
                if not rows:
                    break
                iids = np.array([r[0] for r in rows], dtype=np.int64)
                vecs = np.frombuffer(b"".join(r[1] for r in rows), dtype="<f4")
                last = int(iids[-1])
                yield iids, vecs.reshape(-1, dimension).astype(np.float32, copy=False)

    def lexical_search(self, query: str, k: int) -> list[tuple[int, float]]:
        """Up to k `(iid, bm25)` of documents and aliases by the words of `query`."""
        with self._lock:
            return lexical.search(self._conn, query, k)

    def vectors_of(self, doc_iids: Sequence[int], dimension: int) -> dict[int, list]:
        """doc iid -> [(alias text or None, (dimension,) float32 vector), ...]: the
        document's own vector first, then its aliases'."""
        out: dict[int, list] = {int(i): [] for i in doc_iids}
        if not out:
            return out
        marks = ",".join("?" * len(out))
        with self._lock:
            rows = self._conn.execute(
                f"SELECT iid, NULL, vector FROM docs WHERE iid IN ({marks}) UNION ALL "
                f"SELECT doc_iid, text, vector FROM aliases WHERE doc_iid IN ({marks})",
                [*out, *out],
            ).fetchall()
        for iid, alias, blob in rows:
            out[iid].append((alias, np.frombuffer(blob, dtype="<f4").reshape(dimension)))
        for group in out.values():
            group.sort(key=lambda item: item[0] is not None)
        return out

    def merge(self, groups: Sequence[tuple[str, Sequence[str]]]) -> MergeResult:
        """Turn documents into aliases of a canonical one, all groups in one durable
        transaction: each member is deleted (tombstoned), its text becomes an alias of the
        canonical document with the member's vector (a fresh iid), and its aliases move to the
        canonical document (same iids and vectors). Groups whose canonical document is gone,
        and members that are gone or are the canonical one, are skipped."""
        removed: list[int] = []
        added: list[tuple[int, bytes]] = []
        merged = 0
        with self._lock, self._transaction():
            seq = self._next_seq()
            for canonical, members in groups:
                row = self._conn.execute(
                    "SELECT iid FROM docs WHERE id = ?", (canonical,)
                ).fetchone()
                if row is None:
                    continue
                for member in dict.fromkeys(members):
                    gone = None if member == canonical else self._conn.execute(
                        "DELETE FROM docs WHERE id = ? RETURNING iid, text, vector", (member,)
                    ).fetchone()  # fmt: skip
                    if gone is None:
                        continue
                    self._conn.execute(
                        "INSERT OR REPLACE INTO tombstones(iid, seq) VALUES (?, ?)", (gone[0], seq)
                    )
                    self._conn.execute(
                        "UPDATE aliases SET doc_iid = ?, seq = ? WHERE doc_iid = ?",
                        (row[0], seq, gone[0]),
                    )
                    iid = int(self._reserve_iids(1)[0])
                    self._conn.execute(
                        "INSERT INTO aliases(iid, doc_iid, text, vector, seq) VALUES (?, ?, ?, ?, ?)",
                        (iid, row[0], gone[1], gone[2], seq),
                    )
                    lexical.remove_rows(self._conn, [gone[0]])
                    lexical.write_rows(self._conn, [(iid, gone[1])])
                    removed.append(gone[0])
                    added.append((iid, gone[2]))
                    merged += 1
        vectors = np.frombuffer(b"".join(v for _, v in added), dtype="<f4")
        return MergeResult(
            seq,
            merged,
            np.array(removed, dtype=np.int64),
            np.array([i for i, _ in added], dtype=np.int64),
            vectors.reshape(len(added), -1).astype(np.float32) if added else None,
        )

    def tombstones_since(self, seq: int) -> np.ndarray:
        with self._lock:
            rows = self._conn.execute("SELECT iid FROM tombstones WHERE seq > ?", (seq,)).fetchall()
        return np.array([r[0] for r in rows], dtype=np.int64)

    def close(self) -> None:
        with self._lock:
            self._conn.close()
