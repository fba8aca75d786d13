"""Near-duplicate clusters of a collection, as a background job; `merge` turns each
cluster's members into aliases of its canonical document.

Work is bounded: at most `max_documents` documents (in id order) are scanned, each one's
vector searched for its `k` nearest neighbours; pairs at or above `threshold` (a cosine)
are joined by union-find into clusters. The canonical document of a cluster is its oldest
(smallest internal id: the entry that was there first); each member's score is its cosine
to the canonical one. A job is cancellable between pages. Its record is stored in the
collection's docstore, so a result survives restarts; a job that was running when the
server stopped is reported `failed` (nothing is merged except by an explicit `merge`, which
is one SQLite transaction: all clusters or none).
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np

from app.errors import CollectionNotFound, Conflict, NotFound, ValidationFailed
from app.index.collection import Collection, WriteAck
from app.services.collections import CollectionService

META_KEY = "duplicates_job"
PAGE = 100
MAX_K = 50


class JobStatus(StrEnum):
    RUNNING = "running"
    DONE = "done"
    CANCELLED = "cancelled"
    FAILED = "failed"
    MERGED = "merged"


@dataclass
class DuplicateJob:
    id: str
    collection: str
    threshold: float
    k: int
    max_documents: int
    status: JobStatus = JobStatus.RUNNING
    done: int = 0  # documents scanned
    total: int = 0  # documents to scan
    clusters: list[dict[str, Any]] = field(default_factory=list)  # {canonical, members}
    error: str | None = None
    started_at: float = field(default_factory=time.time)
    finished_at: float | None = None
    boot: str = ""  # the server run that started it: another one means it was interrupted

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["status"] = self.status.value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DuplicateJob:
        return cls(**{**data, "status": JobStatus(data["status"])})


def clusters_of(edges: dict[tuple[int, int], float], ids: dict[int, str], vectors) -> list[dict]:
    """Connected components (size >= 2) of the edges between iids, canonical = smallest iid,
    members scored by their cosine to it; largest clusters first."""
    parent: dict[int, int] = {}

    def root(x: int) -> int:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in edges:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[int, list[int]] = {}
    for x in list(parent):
        groups.setdefault(root(x), []).append(x)
    out = []
    for canonical, members in groups.items():
        if len(members) < 2 or canonical not in vectors:
            continue
        scored = [
            {"id": ids[m], "score": round(float(vectors[m] @ vectors[canonical]), 6)}
            for m in sorted(members)
            if m != canonical and m in vectors
        ]
        out.append({"canonical": ids[canonical], "members": scored})
    return sorted(out, key=lambda c: (-len(c["members"]), c["canonical"]))


class DuplicateJobs:
    def __init__(self, collections: CollectionService):
        self.collections = collections
        self.boot = uuid.uuid4().hex
        self._lock = threading.Lock()
        self._live: dict[str, tuple[DuplicateJob, threading.Event]] = {}  # by collection

    def _record(self, coll: Collection) -> DuplicateJob | None:
        raw = coll.meta(META_KEY)
        if raw is None:
            return None
        job = DuplicateJob.from_dict(raw)
        if job.status is JobStatus.RUNNING and job.boot != self.boot:
            job.status, job.error = JobStatus.FAILED, "the server stopped while the job ran"
        return job

    async def start(
        self, name: str, *, threshold: float, k: int = 10, max_documents: int = 10_000
    ) -> DuplicateJob:
        if not -1.0 <= threshold <= 1.0:
            raise ValidationFailed("threshold is a cosine in [-1, 1]", param="threshold")
        if not 1 <= k <= MAX_K:
            raise ValidationFailed(f"k must be in [1, {MAX_K}]", param="k")
        if not 1 <= max_documents <= 100_000:
            raise ValidationFailed("max_documents must be in [1, 100000]", param="max_documents")
        coll = self.collections.store.get(name)
        with self._lock:
            if name in self._live and self._live[name][0].status is JobStatus.RUNNING:
                raise Conflict(f"a duplicates job is running on {name!r}", param="name")
            total = min(coll.size, max_documents)
            job = DuplicateJob(uuid.uuid4().hex[:12], name, threshold, k, max_documents,
                               total=total, boot=self.boot)  # fmt: skip
            cancel = threading.Event()
            self._live[name] = (job, cancel)
        await asyncio.to_thread(coll.set_meta, META_KEY, job.to_dict())
        threading.Thread(target=self._run, args=(coll, job, cancel), daemon=True).start()
        return job

    def _run(self, coll: Collection, job: DuplicateJob, cancel: threading.Event) -> None:
        edges: dict[tuple[int, int], float] = {}
        ids: dict[int, str] = {}
        vectors: dict[int, np.ndarray] = {}
        try:
            for offset in range(0, job.total, PAGE):
                if cancel.is_set():
                    job.status = JobStatus.CANCELLED
                    break
                page = coll.documents(offset, min(PAGE, job.total - offset)).documents
                vecs = coll.document_vectors([d.iid for d in page])
                rows = [d for d in page if d.iid in vecs]
                if rows:
                    queries = np.stack([vecs[d.iid] for d in rows])
                    for doc, hits in zip(rows, coll.search(queries, job.k + 1), strict=True):
                        ids[doc.iid] = doc.id
                        vectors[doc.iid] = vecs[doc.iid]
                        for hit in hits:
                            if hit.iid != doc.iid and hit.score >= job.threshold:
                                ids[hit.iid] = hit.id
                                edges[(min(doc.iid, hit.iid), max(doc.iid, hit.iid))] = hit.score
                job.done = offset + len(page)
            if job.status is JobStatus.RUNNING:
                missing = [i for i in ids if i not in vectors]
                vectors.update(coll.document_vectors(missing))
                job.clusters = clusters_of(edges, ids, vectors)
                job.status = JobStatus.DONE
        except CollectionNotFound:
            job.status, job.error = JobStatus.FAILED, "the collection was deleted"
        except Exception as exc:  # every failure ends the job visibly, never silently
            job.status, job.error = JobStatus.FAILED, f"{type(exc).__name__}: {exc}"
        job.finished_at = time.time()
        try:
            coll.set_meta(META_KEY, job.to_dict())
        except Exception:  # the collection is gone; the in-memory record still answers
            pass

    def get(self, name: str, job_id: str) -> DuplicateJob:
        live = self._live.get(name)
        if live is not None and live[0].id == job_id:
            return live[0]
        job = self._record(self.collections.store.get(name))
        if job is None or job.id != job_id:
            raise NotFound(f"no duplicates job {job_id!r} on collection {name!r}", param="job")
        return job

    def cancel(self, name: str, job_id: str) -> DuplicateJob:
        job = self.get(name, job_id)
        live = self._live.get(name)
        if live is not None and live[0].id == job_id:
            live[1].set()
        return job

    async def merge(self, name: str, job_id: str) -> tuple[DuplicateJob, WriteAck]:
        """Apply a finished job's clusters in one transaction (members become aliases)."""
        job = self.get(name, job_id)
        if job.status is not JobStatus.DONE:
            raise Conflict(f"job {job_id!r} is {job.status.value}; only a done job merges",
                           param="job")  # fmt: skip
        coll = self.collections.store.get(name)
        groups = [(c["canonical"], [m["id"] for m in c["members"]]) for c in job.clusters]
        ack = await asyncio.to_thread(coll.merge, groups)
        job.status = JobStatus.MERGED
        await asyncio.to_thread(coll.set_meta, META_KEY, job.to_dict())
        return job, ack
