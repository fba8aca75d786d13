import numpy as np
import pytest

from app.index.base import IndexKind, IndexSpec
from app.index.faiss_index import FaissIndex

DIM = 16


def unit(rng, n, d=DIM):
    x = rng.normal(size=(n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def exact_topk(store: dict[int, np.ndarray], queries: np.ndarray, k: int):
    ids = np.array(sorted(store))
    mat = np.stack([store[i] for i in ids])
    scores = queries @ mat.T
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return ids[order], np.take_along_axis(scores, order, axis=1)


def spec(kind, **kw):
    # small parameters so IVF trains on a few hundred vectors and HNSW is exact at this size
    return IndexSpec(kind=kind, dimension=DIM, nlist=4, nprobe=4, ef_search=256, **kw)


@pytest.mark.parametrize("kind", list(IndexKind))
def test_matches_exact_search_through_upserts_and_removes(kind, tmp_path):
    rng = np.random.default_rng(0)
    index = FaissIndex(spec(kind), tmp_path / "snap.npz")
    store: dict[int, np.ndarray] = {}
    for step in range(6):
        ids = rng.choice(400, size=60, replace=False).astype(np.int64)
        vecs = unit(rng, 60)
        index.upsert(ids, vecs)
        store.update(zip(ids.tolist(), vecs, strict=True))
        gone = rng.choice(sorted(store), size=15, replace=False)
        index.remove(gone)
        for g in gone.tolist():
            store.pop(g)
        assert index.size == len(store), step
    queries = unit(rng, 5)
    hits = index.search(queries, 10)
    want_ids, want_scores = exact_topk(store, queries, 10)
    np.testing.assert_allclose(hits.scores, want_scores, atol=1e-5)
    np.testing.assert_array_equal(hits.ids, want_ids)
    assert not set(hits.ids.ravel().tolist()) - set(store)


def test_ivf_trains_once_enough_vectors(tmp_path):
    rng = np.random.default_rng(1)
    index = FaissIndex(spec(IndexKind.IVF), tmp_path / "s.npz")
    index.upsert(np.arange(100), unit(rng, 100))
    assert not index.is_trained_ivf
    index.upsert(np.arange(100, 4 * 39), unit(rng, 4 * 39 - 100))
    assert index.is_trained_ivf and index.size == 156


def test_pads_when_fewer_than_k(tmp_path):
    rng = np.random.default_rng(2)
    index = FaissIndex(spec(IndexKind.FLAT), tmp_path / "s.npz")
    empty = index.search(unit(rng, 2), 3)
    assert (empty.ids == -1).all() and np.isneginf(empty.scores).all()
    index.upsert(np.array([7, 9]), unit(rng, 2))
    hits = index.search(unit(rng, 1), 4)
    assert sorted(hits.ids[0, :2].tolist()) == [7, 9]
    assert hits.ids[0, 2:].tolist() == [-1, -1] and np.isneginf(hits.scores[0, 2:]).all()


def test_upsert_replaces_vector(tmp_path):
    rng = np.random.default_rng(3)
    a, b = unit(rng, 2)
    index = FaissIndex(spec(IndexKind.HNSW), tmp_path / "s.npz")
    index.upsert(np.array([1]), a[None])
    index.upsert(np.array([1]), b[None])
    hits = index.search(b[None], 2)
    assert hits.ids[0].tolist() == [1, -1]
    np.testing.assert_allclose(hits.scores[0, 0], 1.0, atol=1e-5)


@pytest.mark.parametrize("kind", list(IndexKind))
def test_snapshot_roundtrip(kind, tmp_path):
    rng = np.random.default_rng(4)
    path = tmp_path / "snap.npz"
    index = FaissIndex(spec(kind), path)
    index.upsert(np.arange(300), unit(rng, 300))
    index.remove(np.arange(0, 300, 7))
    index.checkpoint(42)
    loaded, seq = FaissIndex.load(spec(kind), path)
    assert seq == 42 and loaded.size == index.size
    q = unit(rng, 3)
    np.testing.assert_array_equal(loaded.search(q, 5).ids, index.search(q, 5).ids)
    assert not list(tmp_path.glob(".*tmp*"))


def test_bad_snapshot_is_ignored(tmp_path):
    path = tmp_path / "snap.npz"
    path.write_bytes(b"PK\x03\x04 torn")
    index, seq = FaissIndex.load(spec(IndexKind.FLAT), path)
    assert seq is None and index.size == 0


def test_snapshot_for_other_spec_is_ignored(tmp_path):
    rng = np.random.default_rng(5)
    path = tmp_path / "snap.npz"
    index = FaissIndex(spec(IndexKind.FLAT), path)
    index.upsert(np.arange(3), unit(rng, 3))
    index.checkpoint(1)
    _, seq = FaissIndex.load(spec(IndexKind.HNSW), path)
    assert seq is None


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"kind": "annoy"}, "flat, hnsw, ivf"),
        ({"kind": "flat", "dimension": 0}, "dimension"),
        ({"kind": "hnsw", "hnsw_m": 1}, "hnsw_m"),
        ({"kind": "ivf", "nlist": 8, "nprobe": 9}, "nprobe"),
    ],
)
def test_spec_validation(kw, match):
    kw.setdefault("dimension", DIM)
    with pytest.raises(ValueError, match=match):
        IndexSpec(**kw)


def test_input_validation(tmp_path):
    index = FaissIndex(spec(IndexKind.FLAT), tmp_path / "s.npz")
    with pytest.raises(ValueError, match="shape"):
        index.upsert(np.array([1]), np.zeros((1, DIM + 1), dtype=np.float32))
    with pytest.raises(ValueError, match="unique"):
        index.upsert(np.array([1, 1]), np.zeros((2, DIM), dtype=np.float32))
    with pytest.raises(ValueError, match=">= 0"):
        index.upsert(np.array([-1]), np.zeros((1, DIM), dtype=np.float32))
    with pytest.raises(ValueError, match="k must"):
        index.search(np.zeros((1, DIM), dtype=np.float32), 0)
