"""SQLite docstore: the durable record of a collection (config, documents, vectors, sequence).

WAL journal with synchronous=FULL: a write returns only after its commit record is fsynced,
so anything acknowledged survives a SIGKILL or power cut. SQLite checksums WAL frames and
ignores a torn last transaction on recovery, which is the "torn tail tolerated" guarantee.

Each write transaction bumps `seq` (monotonic) and stamps the rows it touches; deletions leave
a tombstone `(iid, seq)` so an index snapshot tagged with seq S is brought up to date by
replaying rows and tombstones with seq > S. Internal ids (`iid`) are never reused
(AUTOINCREMENT), so replay order between tombstones and rows does not matter.
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
"""


@dataclass(frozen=True)
class Document:
    id: str
    text: str
    payload: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StoredDocument:
    iid: int
    id: str
    text: str
    payload: dict[str, Any]


class UpsertResult(NamedTuple):
    seq: int
    iids: np.ndarray  # (n,) int64, aligned with the (deduplicated) input documents


class DeleteResult(NamedTuple):
    seq: int
    iids: np.ndarray  # (m,) int64 of the documents actually removed
    missing: list[str]  # ids that were not present


class DocStore:
    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.executescript(SCHEMA)

    # ---- meta ---------------------------------------------------------------------------
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
        with self._lock:
            return int(self._conn.execute("SELECT count(*) FROM docs").fetchone()[0])

    # ---- writes -------------------------------------------------------------------------
    def _transaction(self):
        conn = self._conn

        class _Tx:
            def __enter__(self):
                conn.execute("BEGIN IMMEDIATE")

            def __exit__(self, exc_type, exc, tb):
                conn.execute("ROLLBACK" if exc_type else "COMMIT")

        return _Tx()

    def _next_seq(self) -> int:
        seq = int(self._meta("seq") or 0) + 1
        self._set_meta("seq", str(seq))
        return seq

    def upsert(self, docs: Sequence[Document], vectors: np.ndarray) -> UpsertResult:
        """Insert or replace documents by id, in one durable transaction.

        Parameters
        ----------
        docs : n documents with unique ids
        vectors : (n, d) float32, row i belongs to docs[i]
        """
        vectors = np.ascontiguousarray(vectors, dtype="<f4")
        if vectors.ndim != 2 or vectors.shape[0] != len(docs):
            raise ValueError(f"vectors must have shape ({len(docs)}, d), got {vectors.shape}")
        if len({d.id for d in docs}) != len(docs):
            raise ValueError("document ids in one upsert must be unique")
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
        return UpsertResult(seq, iids)

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
                self._conn.execute(
                    "INSERT OR REPLACE INTO tombstones(iid, seq) VALUES (?, ?)", (row[0], seq)
                )
        return DeleteResult(seq, np.array(removed, dtype=np.int64), missing)

    def prune_tombstones(self, upto_seq: int) -> None:
        """Forget tombstones an index checkpoint at `upto_seq` already reflects."""
        with self._lock, self._transaction():
            self._conn.execute("DELETE FROM tombstones WHERE seq <= ?", (upto_seq,))

    # ---- reads --------------------------------------------------------------------------
    @staticmethod
    def _doc(row) -> StoredDocument:
        return StoredDocument(row[0], row[1], row[2], json.loads(row[3]))

    def get(self, doc_id: str) -> StoredDocument | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT iid, id, text, payload FROM docs WHERE id = ?", (doc_id,)
            ).fetchone()
        return None if row is None else self._doc(row)

    def get_many(self, iids: Sequence[int]) -> dict[int, StoredDocument]:
        out: dict[int, StoredDocument] = {}
        unique = list(dict.fromkeys(int(i) for i in iids))
        with self._lock:
            for start in range(0, len(unique), 900):  # SQLite's bound-variable limit
                chunk = unique[start : start + 900]
                marks = ",".join("?" * len(chunk))
                for row in self._conn.execute(
                    f"SELECT iid, id, text, payload FROM docs WHERE iid IN ({marks})", chunk
                ):
                    out[row[0]] = self._doc(row)
        return out

    def vectors_since(
        self, seq: int, dimension: int, batch: int = 8192
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield (iids (b,) int64, vectors (b, dimension) float32) of rows written after `seq`."""
        last = -1
        while True:
            with self._lock:
                rows = self._conn.execute(
                    "SELECT iid, vector FROM docs WHERE seq > ? AND iid > ? ORDER BY iid LIMIT ?",
                    (seq, last, batch),
                ).fetchall()
            if not rows:
                return
            iids = np.array([r[0] for r in rows], dtype=np.int64)
            vecs = np.frombuffer(b"".join(r[1] for r in rows), dtype="<f4").reshape(-1, dimension)
            last = int(iids[-1])
            yield iids, vecs.astype(np.float32, copy=False)

    def tombstones_since(self, seq: int) -> np.ndarray:
        with self._lock:
            rows = self._conn.execute("SELECT iid FROM tombstones WHERE seq > ?", (seq,)).fetchall()
        return np.array([r[0] for r in rows], dtype=np.int64)

    def close(self) -> None:
        with self._lock:
            self._conn.close()
