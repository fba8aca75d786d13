"""FAISS implementation of `VectorIndex`: flat, HNSW or IVF, inner product on unit vectors.

FAISS assigns consecutive internal labels; we keep the label -> external id map and an alive
mask ourselves. Removal and replacement mark the old label dead and searches exclude dead
labels with an `IDSelectorBitmap`, because `IndexHNSW` cannot remove vectors at all. The
index is compacted (rebuilt from live vectors) once dead labels pass a quarter of the total.

IVF needs training: until `spec.train_size` (39 x nlist) vectors exist it is served by an
exact flat index, then the coarse quantizer is trained on the live vectors and they move over.
Snapshots are one `.npz` (serialized index + label map + alive mask + write sequence) written
atomically; a snapshot that does not load is ignored so the caller rebuilds from the docstore.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import faiss
import numpy as np

from app.index.atomic import atomic_write
from app.index.base import IndexKind, IndexSpec, SearchHits, VectorIndex, check_ids, check_vectors

log = logging.getLogger(__name__)

# docs/METHODS.md 7.3: with the default (20) FAISS skips BLAS for small query batches; 100k x 384
# flat search for 32 queries drops from 181 ms to 45 ms with this setting.
BLAS_THRESHOLD = 20
_MIN_DEAD_TO_COMPACT = 32


def configure_faiss(threads: int = 0) -> None:
    faiss.cvar.distance_compute_blas_threshold = BLAS_THRESHOLD
    if threads > 0:
        faiss.omp_set_num_threads(threads)


def gpu_count() -> int:
    return faiss.get_num_gpus() if hasattr(faiss, "StandardGpuResources") else 0


class FaissIndex(VectorIndex):
    def __init__(self, spec: IndexSpec, snapshot_path: Path, *, use_gpu: bool = False):
        configure_faiss()
        self.spec = spec
        self.snapshot_path = Path(snapshot_path)
        self._gpu_enabled = use_gpu and spec.kind is not IndexKind.HNSW and gpu_count() > 0
        self.reset()

    # ---- construction -------------------------------------------------------------------
    def _new_index(self, *, trained: bool) -> faiss.Index:
        d, ip = self.spec.dimension, faiss.METRIC_INNER_PRODUCT
        if self.spec.kind is IndexKind.HNSW:
            index = faiss.IndexHNSWFlat(d, self.spec.hnsw_m, ip)
            index.hnsw.efConstruction = self.spec.ef_construction
            index.hnsw.efSearch = self.spec.ef_search
            return index
        if self.spec.kind is IndexKind.IVF and trained:
            quantizer = faiss.IndexFlatIP(d)
            index = faiss.IndexIVFFlat(quantizer, d, self.spec.nlist, ip)
            index.nprobe = self.spec.nprobe
            return index
        return faiss.IndexFlatIP(d)

    @property
    def is_trained_ivf(self) -> bool:
        return isinstance(self._index, faiss.IndexIVF)

    @property
    def size(self) -> int:
        return len(self._pos)

    @property
    def n_dead(self) -> int:
        return int(self._index.ntotal) - len(self._pos)

    # ---- writes -------------------------------------------------------------------------
    def upsert(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        vectors = check_vectors(vectors, self.spec.dimension)
        ids = check_ids(ids, vectors.shape[0])
        if len(np.unique(ids)) != len(ids):
            raise ValueError("ids in one upsert must be unique")
        if ids.size == 0:
            return
        self._kill(ids)
        start = int(self._index.ntotal)
        self._append(vectors)
        self._ext = np.concatenate([self._ext, ids])
        self._alive = np.concatenate([self._alive, np.ones(len(ids), dtype=bool)])
        self._pos.update(zip(ids.tolist(), range(start, start + len(ids)), strict=True))
        self._changed()
        if self.spec.kind is IndexKind.IVF and not self.is_trained_ivf:
            if self.size >= self.spec.train_size:
                self._rebuild(trained=True)

    def remove(self, ids: np.ndarray) -> None:
        self._kill(check_ids(ids))
        self._changed()

    def _append(self, vectors: np.ndarray) -> None:
        self._index.add(vectors)

    def _kill(self, ids: np.ndarray) -> None:
        for ext in ids.tolist():
            label = self._pos.pop(ext, None)
            if label is not None:
                self._alive[label] = False

    def _changed(self) -> None:
        self._bitmap = None
        self._gpu_index = None
        if self.n_dead > max(_MIN_DEAD_TO_COMPACT, self._index.ntotal // 4):
            self._rebuild(trained=self.is_trained_ivf)

    def _rebuild(self, *, trained: bool) -> None:
        """Re-create the index from live vectors only (compaction and IVF training)."""
        labels = np.flatnonzero(self._alive)
        vectors = self._reconstruct(labels)
        index = self._new_index(trained=trained)
        if isinstance(index, faiss.IndexIVF):
            index.train(vectors)
            index.make_direct_map()
        index.add(vectors)
        self._index = index
        self._ext = self._ext[labels]
        self._alive = np.ones(len(labels), dtype=bool)
        self._pos = dict(zip(self._ext.tolist(), range(len(labels)), strict=True))
        self._bitmap = None
        self._gpu_index = None

    def _reconstruct(self, labels: np.ndarray) -> np.ndarray:
        if labels.size == 0:
            return np.zeros((0, self.spec.dimension), dtype=np.float32)
        if self._index.ntotal == labels.size:
            return self._index.reconstruct_n(0, int(self._index.ntotal))
        return self._index.reconstruct_batch(labels)

    # ---- search -------------------------------------------------------------------------
    def search(self, queries: np.ndarray, k: int) -> SearchHits:
        queries = check_vectors(queries, self.spec.dimension, "queries")
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        nq = queries.shape[0]
        if self.size == 0 or nq == 0:
            return SearchHits(
                np.full((nq, k), -1, dtype=np.int64), np.full((nq, k), -np.inf, dtype=np.float32)
            )
        if self._gpu_enabled:
            scores, labels = self._search_gpu(queries, k)
        else:
            scores, labels = self._index.search(queries, k, params=self._params(k))
        found = labels >= 0
        ids = np.where(found, self._ext[np.where(found, labels, 0)], -1)
        return SearchHits(ids.astype(np.int64), np.where(found, scores, -np.inf).astype(np.float32))

    def _params(self, k: int) -> faiss.SearchParameters | None:
        sel = None
        if self.n_dead:
            if self._bitmap is None:
                self._bitmap = np.packbits(self._alive, bitorder="little")
            sel = faiss.IDSelectorBitmap(len(self._alive), faiss.swig_ptr(self._bitmap))
        if self.spec.kind is IndexKind.HNSW:
            params = faiss.SearchParametersHNSW()
            params.efSearch = max(self.spec.ef_search, k)
        elif self.is_trained_ivf:
            params = faiss.SearchParametersIVF()
            params.nprobe = self.spec.nprobe
        else:
            params = faiss.SearchParameters()
        params.sel = sel
        return params

    def _search_gpu(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """GPU copy of the CPU index, re-made after writes (pays off for read-heavy use).
        GPU search takes no selector, so over-fetch by the dead count and drop dead labels."""
        if self._gpu_index is None:
            res = faiss.StandardGpuResources()
            self._gpu_index = faiss.index_cpu_to_gpu(res, 0, self._index)
            self._gpu_res = res
        fetch = min(int(self._index.ntotal), k + self.n_dead)
        scores, labels = self._gpu_index.search(queries, fetch)
        keep = np.where(labels >= 0, self._alive[np.maximum(labels, 0)], False)
        out_s = np.full((len(queries), k), -np.inf, dtype=np.float32)
        out_l = np.full((len(queries), k), -1, dtype=np.int64)
        for row in range(len(queries)):
            sel = np.flatnonzero(keep[row])[:k]
            out_s[row, : len(sel)] = scores[row, sel]
            out_l[row, : len(sel)] = labels[row, sel]
        return out_s, out_l

    # ---- persistence --------------------------------------------------------------------
    def checkpoint(self, seq: int) -> None:
        if self.n_dead:
            self._rebuild(trained=self.is_trained_ivf)
        blob = faiss.serialize_index(self._index)
        meta = json.dumps({"seq": int(seq), "spec": self.spec.to_dict()})

        def write(fh):
            np.savez(fh, index=blob, ext=self._ext, meta=np.array(meta))

        atomic_write(self.snapshot_path, write)

    @classmethod
    def load(cls, spec: IndexSpec, snapshot_path: Path, *, use_gpu: bool = False):
        """(index, seq) from the snapshot, or (empty index, None) when absent or unusable."""
        index = cls(spec, snapshot_path, use_gpu=use_gpu)
        if not index.snapshot_path.exists():
            return index, None
        try:
            with np.load(index.snapshot_path, allow_pickle=False) as data:
                meta = json.loads(str(data["meta"]))
                if IndexSpec.from_dict(meta["spec"]) != spec:
                    raise ValueError("snapshot was written for another index spec")
                restored = faiss.deserialize_index(data["index"])
                ext = data["ext"].astype(np.int64)
            if restored.ntotal != len(ext) or restored.d != spec.dimension:
                raise ValueError("snapshot label map does not match its index")
        except Exception as exc:  # a bad snapshot only costs a rebuild from the docstore
            log.warning("ignoring unusable index snapshot %s: %s", snapshot_path, exc)
            return cls(spec, snapshot_path, use_gpu=use_gpu), None
        index._index = restored
        index._ext = ext
        index._alive = np.ones(len(ext), dtype=bool)
        index._pos = dict(zip(ext.tolist(), range(len(ext)), strict=True))
        return index, int(meta["seq"])

    def reset(self) -> None:
        self._index = self._new_index(trained=False)
        self._ext = np.zeros(0, dtype=np.int64)  # internal label -> external id
        self._alive = np.zeros(0, dtype=bool)
        self._pos: dict[int, int] = {}  # external id -> internal label
        self._bitmap: np.ndarray | None = None  # packed alive mask, rebuilt lazily
        self._gpu_index = None

    def close(self) -> None:
        self._gpu_index = None

    def drop(self) -> None:
        self.snapshot_path.unlink(missing_ok=True)
