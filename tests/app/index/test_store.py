"""Collections end to end below HTTP: both backends, filters, replay after crash, drop."""

import threading
import time

import numpy as np
import pytest

from app.errors import CollectionNotFound, Conflict, InvalidInput, Unavailable
from app.index.base import Backend, IndexKind, IndexSpec
from app.index.collection import CollectionConfig
from app.index.docstore import Document
from app.index.filters import PayloadFilter
from app.index.store import CollectionStore, validate_name
from app.settings import CollectionSettings

DIM = 8
BACKENDS = [Backend.FAISS, Backend.MILVUS]


def unit(n, seed):
    x = np.random.default_rng(seed).normal(size=(n, DIM)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def config(name="faq", backend=Backend.FAISS, kind=IndexKind.FLAT, model="tiny"):
    return CollectionConfig(name, model, backend, IndexSpec(kind, DIM), time.time())


def make_store(tmp_path, **kw):
    store = CollectionStore(CollectionSettings(data_dir=tmp_path / "colls", **kw))
    store.open_all()
    return store


def vectors(coll) -> int:
    """Vectors held (documents and aliases), whichever backend."""
    if hasattr(coll, "index"):
        return coll.index.size
    return coll.calls.count("")


def docs(n, start=0):
    return [Document(f"d{i}", f"text {i}", {"group": i % 3, "even": i % 2 == 0})
            for i in range(start, start + n)]  # fmt: skip


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture()
def mk(backend, request):
    """make_store for the backend under test: milvus ones on the session's real server, in a
    namespace of their own (tests/conftest.py `milvus_uri`)."""
    if backend is Backend.FAISS:
        return make_store
    uri = request.getfixturevalue("milvus_uri")
    namespace = request.getfixturevalue("milvus_namespace")
    return lambda tmp_path, **kw: make_store(
        tmp_path, milvus_uri=uri, milvus_namespace=namespace, **kw
    )


def test_search_filter_delete(tmp_path, backend, mk):
    store = mk(tmp_path)
    coll, created = store.create(config(backend=backend))
    assert created
    v = unit(40, 0)
    coll.upsert(docs(40), v)
    assert coll.size == 40
    hits = coll.search(v[[5]], 3)[0]
    assert hits[0].id == "d5" and hits[0].score == pytest.approx(1.0, abs=1e-5)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    flt = PayloadFilter(must={"group": 1}, must_not={"even": True})
    got = coll.search(v[[5]], 5, flt)[0]
    assert len(got) == 5
    assert all(h.payload["group"] == 1 and h.payload["even"] is False for h in got)
    expected = [f"d{i}" for i in range(40) if i % 3 == 1 and i % 2 == 1]
    exact = sorted(expected, key=lambda d: -float(v[int(d[1:])] @ v[5]))[:5]
    assert [h.id for h in got] == exact
    ack = coll.delete(["d5", "nope"])
    assert ack.count == 1 and ack.missing == ["nope"]
    assert all(h.id != "d5" for h in coll.search(v[[5]], 10)[0])
    store.close()


def test_replay_after_crash_without_checkpoint(tmp_path, backend, mk):
    store = mk(tmp_path, checkpoint_every=10)
    coll, _ = store.create(config(backend=backend, kind=IndexKind.HNSW))
    v = unit(30, 1)
    coll.upsert(docs(30), v)  # passes checkpoint_every: checkpoint at seq 1
    coll.delete(["d0", "d1"])  # after the checkpoint: replayed from tombstones
    coll.upsert([Document("d2", "replaced", {"group": 9})], unit(1, 2))
    coll.upsert(docs(3, start=100), unit(3, 3))
    # "crash": drop the store without closing (no final checkpoint), open a new one
    store2 = mk(tmp_path, checkpoint_every=10)
    coll2 = store2.get("faq")
    assert coll2.size == 31
    assert backend is Backend.MILVUS or coll2.index.size == 31
    ids = {h.id for h in coll2.search(v[:3], 40)[0]}
    assert "d0" not in ids and "d1" not in ids and {"d2", "d100", "d102"} <= ids
    assert coll2.get("d2").text == "replaced"
    store2.close()


def test_corrupt_snapshot_rebuilds_from_docstore(tmp_path):
    store = make_store(tmp_path)
    coll, _ = store.create(config())
    coll.upsert(docs(10), unit(10, 4))
    store.close()
    (tmp_path / "colls" / "faq" / "index.npz").write_bytes(b"torn")
    store2 = make_store(tmp_path)
    assert store2.get("faq").index.size == 10
    store2.close()


def test_create_is_idempotent_conflicts_and_drop(tmp_path):
    store = make_store(tmp_path)
    store.create(config())
    _, created = store.create(config())
    assert not created
    with pytest.raises(Conflict, match="model 'tiny'"):
        store.create(config(model="other"))
    store.drop("faq")
    with pytest.raises(CollectionNotFound):
        store.get("faq")
    assert not (tmp_path / "colls" / "faq").exists()
    assert [p.name for p in (tmp_path / "colls").iterdir()] == []
    store.close()


def test_leftovers_of_interrupted_create_are_cleared(tmp_path):
    root = tmp_path / "colls"
    (root / ".half.creating").mkdir(parents=True)
    store = make_store(tmp_path)
    assert store.list() == [] and not (root / ".half.creating").exists()


@pytest.mark.parametrize("name", ["", "..", "../x", "a/b", ".hidden", "a b", "x" * 65, "é"])
def test_bad_names_rejected(name):
    with pytest.raises(InvalidInput):
        validate_name(name)


@pytest.mark.parametrize("name", ["faq", "FAQ-prod_2", "0", "x" * 64])
def test_good_names(name):
    assert validate_name(name) == name


def test_aliases_find_their_document_once_and_survive_a_crash(tmp_path, backend, mk):
    store = mk(tmp_path, checkpoint_every=1000)
    coll, _ = store.create(config(backend=backend))
    v = unit(6, 7)
    # d0 has two aliases: one equal to the query, one close to it; d1 is the runner-up
    query = unit(1, 8)
    near = query + 0.05 * unit(1, 9)
    near /= np.linalg.norm(near)
    aliased = Document("d0", "text 0", {"group": 0}, aliases=("exact", "near"))
    coll.upsert([aliased, *docs(5, start=1)], v, np.concatenate([query, near]))
    assert coll.size == 6 and vectors(coll) == 8
    hits = coll.search(query, 3)[0]
    assert [h.id for h in hits].count("d0") == 1 and len(hits) == 3
    assert hits[0].id == "d0" and hits[0].alias == "exact"
    assert hits[0].score == pytest.approx(1.0, abs=1e-5)
    # every document once even when k asks for all of them
    assert sorted(h.id for h in coll.search(query, 10)[0]) == [f"d{i}" for i in range(6)]
    # a filter that excludes the document excludes its aliases too
    assert "d0" not in {h.id for h in coll.search(query, 3, PayloadFilter(must={"group": 1}))[0]}
    # crash without a checkpoint: the aliases are replayed from the docstore (faiss) or were
    # in Milvus all along
    store2 = mk(tmp_path, checkpoint_every=1000)
    coll2 = store2.get("faq")
    assert vectors(coll2) == 8
    assert coll2.search(query, 1)[0][0].alias == "exact"
    assert coll2.get("d0").aliases == ("exact", "near")
    ack = coll2.delete(["d0"])
    assert (ack.count, ack.aliases) == (1, 2) and vectors(coll2) == 5
    assert "d0" not in {h.id for h in coll2.search(query, 10)[0]}
    store2.close()


def _in_threads(*calls):
    """Run the calls at once; each result is its return value or the exception it raised."""
    out: list = [None] * len(calls)

    def run(i, call):
        try:
            out[i] = call()
        except Exception as exc:  # the test inspects it
            out[i] = exc

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return out


def test_search_racing_a_drop_completes_or_finds_no_collection(tmp_path, monkeypatch):
    """Issue 12.4: hits used to be resolved after the collection lock was released, so a
    drop in between closed the docstore under them (sqlite3.ProgrammingError -> 500)."""
    store = make_store(tmp_path)
    coll, _ = store.create(config())
    v = unit(10, 1)
    coll.upsert(docs(10), v)
    resolve = coll.docs.resolve

    def slow_resolve(iids):
        time.sleep(0.3)  # the drop starts meanwhile
        return resolve(iids)

    monkeypatch.setattr(coll.docs, "resolve", slow_resolve)

    def drop_soon():
        time.sleep(0.1)
        store.drop("faq")

    found, dropped = _in_threads(lambda: coll.search(v[[3]], 2), drop_soon)
    assert dropped is None
    assert [h.id for h in found[0]][:1] == ["d3"]  # the search finished on its snapshot
    with pytest.raises(CollectionNotFound):
        coll.search(v[[3]], 2)


def test_racing_drops_and_creates_leave_no_orphan(tmp_path, monkeypatch):
    """Issue 12.5: two DELETEs of one collection gave FileNotFoundError (500) on the second
    rename, and a stale DELETE could remove a newly created collection from the map."""
    store = make_store(tmp_path)
    coll, _ = store.create(config())
    index_drop = coll.index.drop

    def slow_drop():
        time.sleep(0.3)  # both DELETEs are inside drop
        index_drop()

    monkeypatch.setattr(coll.index, "drop", slow_drop)
    results = _in_threads(lambda: store.drop("faq"), lambda: store.drop("faq"))
    assert sorted(type(r).__name__ for r in results) == ["CollectionNotFound", "NoneType"]
    again, created = store.create(config())
    assert created and store.get("faq") is again and again.size == 0
    with pytest.raises(CollectionNotFound):
        store.drop("missing")
    assert (store.root / "faq").is_dir() and [c.config.name for c in store.list()] == ["faq"]


def _corrupt(path):
    with open(path, "r+b") as f:
        f.write(b"this is not an SQLite header!!!!" * 4)


def test_a_corrupt_docstore_is_quarantined_and_the_rest_served(tmp_path):
    """Issue 12.7: one unreadable docstore used to stop the whole server at start-up."""
    store = make_store(tmp_path)
    good, _ = store.create(config("good"))
    bad, _ = store.create(config("bad"))
    v = unit(4, 2)
    good.upsert(docs(4), v)
    bad.upsert(docs(4), v)
    store.close()
    _corrupt(tmp_path / "colls" / "bad" / "docs.sqlite")

    store = make_store(tmp_path)
    assert [c.config.name for c in store.list()] == ["good"]
    assert store.get("good").search(v[[1]], 1)[0][0].id == "d1"
    assert set(store.quarantined()) == {"bad"} and "not a database" in store.quarantined()["bad"]
    for call in (lambda: store.get("bad"), lambda: store.create(config("bad"))):
        with pytest.raises(Unavailable, match="'bad' is quarantined"):
            call()
    store.drop("bad")  # DELETE clears it
    assert store.quarantined() == {} and not (tmp_path / "colls" / "bad").exists()
    assert store.create(config("bad"))[1]
    store.close()


def test_a_failing_checkpoint_never_fails_a_durable_write_nor_the_start(tmp_path, monkeypatch):
    """Issue 12.6: with the disk full at checkpoint, every write answered 500 yet was stored,
    and a restart failed in replay -> checkpoint though the docstore was intact."""
    from app.index.faiss_index import FaissIndex

    calls = []

    def no_space(self, seq):
        calls.append(seq)
        raise OSError(28, "No space left on device")

    store = make_store(tmp_path, checkpoint_every=5)
    coll, _ = store.create(config())
    monkeypatch.setattr(FaissIndex, "checkpoint", no_space)
    v = unit(12, 3)
    for i in range(12):
        ack = coll.upsert(docs(1, start=i), v[[i]])
        assert ack.count == 1
    assert len(calls) == 2  # at 5 writes, then retried only after 5 more (not every write)
    assert coll.size == 12 and coll.search(v[[7]], 1)[0][0].id == "d7"
    store.close()  # the closing checkpoint fails too, and the docstore still closes

    store = make_store(tmp_path, checkpoint_every=5)  # replay of 12 > 5 tries a checkpoint
    assert len(calls) == 4 and store.quarantined() == {}
    again = store.get("faq")
    assert again.size == 12 and again.search(v[[11]], 1)[0][0].id == "d11"
    store.close()


def test_a_full_docstore_refuses_the_write_without_applying_it(tmp_path):
    """A write SQLite cannot store is 503 (Unavailable) and leaves nothing half-done."""
    store = make_store(tmp_path)
    coll, _ = store.create(config())
    v = unit(400, 4)
    coll.upsert(docs(10), v[:10])
    pages = coll.docs._conn.execute("PRAGMA page_count").fetchone()[0]
    coll.docs._conn.execute(f"PRAGMA max_page_count = {pages + 2}")  # a nearly full disk
    big = [Document(f"big{i}", "x" * 2000, {}) for i in range(400)]
    with pytest.raises(Unavailable, match="disk is full"):
        coll.upsert(big, v)
    assert coll.size == 10 and coll.docs.get("big0") is None and coll.index.size == 10
    assert coll.upsert(docs(1, start=20), v[[20]]).count == 1  # small writes still fit
    assert coll.delete(["d0"]).count == 1 and coll.size == 10
    store.close()
