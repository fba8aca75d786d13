import shutil

import numpy as np
import pytest

from app.index.docstore import DocStore, Document


def vecs(n, d=4, seed=0):
    return np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)


def test_upsert_get_delete_and_sequence(tmp_path):
    store = DocStore(tmp_path / "d.sqlite")
    r1 = store.upsert([Document("a", "alpha", {"lang": "en"}), Document("b", "beta")], vecs(2))
    assert r1.seq == 1 and r1.iids.tolist() == [1, 2]
    r2 = store.upsert([Document("a", "ALPHA", {"lang": "de"})], vecs(1, seed=1))
    assert r2.seq == 2 and r2.iids.tolist() == [1]  # same id keeps its internal id
    doc = store.get("a")
    assert (doc.text, doc.payload) == ("ALPHA", {"lang": "de"})
    d = store.delete(["b", "zzz", "b"])
    assert d.seq == 3 and d.iids.tolist() == [2] and d.missing == ["zzz"]
    assert store.get("b") is None and store.count() == 1
    r3 = store.upsert([Document("b", "beta again")], vecs(1))
    assert r3.iids[0] > 2  # internal ids are never reused (AUTOINCREMENT)
    assert store.tombstones_since(2).tolist() == [2]
    assert store.tombstones_since(3).tolist() == []
    since = list(store.vectors_since(2, 4))
    assert [ids.tolist() for ids, _ in since] == [r3.iids.tolist()]
    store.prune_tombstones(3)
    assert store.tombstones_since(0).tolist() == []


def test_vectors_roundtrip_in_batches(tmp_path):
    store = DocStore(tmp_path / "d.sqlite")
    v = vecs(25, d=6)
    store.upsert([Document(str(i), f"t{i}") for i in range(25)], v)
    got = list(store.vectors_since(-1, 6, batch=10))
    assert [len(ids) for ids, _ in got] == [10, 10, 5]
    np.testing.assert_array_equal(np.concatenate([x for _, x in got]), v)


def test_rejects_mismatched_input(tmp_path):
    store = DocStore(tmp_path / "d.sqlite")
    with pytest.raises(ValueError, match="shape"):
        store.upsert([Document("a", "x")], vecs(2))
    with pytest.raises(ValueError, match="unique"):
        store.upsert([Document("a", "x"), Document("a", "y")], vecs(2))
    assert store.seq == 0  # nothing half-written


def test_wal_and_full_sync_pragmas(tmp_path):
    store = DocStore(tmp_path / "d.sqlite")
    assert store._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store._conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_torn_wal_tail_keeps_committed_prefix(tmp_path):
    """Copy the files mid-life (as a crash would leave them), cut the WAL's last frame short,
    and check SQLite recovers every earlier transaction and drops only the torn one."""
    live = tmp_path / "live"
    live.mkdir()
    store = DocStore(live / "d.sqlite")
    for i in range(5):
        store.upsert([Document(f"id{i}", "x" * 500)], vecs(1, seed=i))
    crash = tmp_path / "crash"
    shutil.copytree(live, crash)
    wal = crash / "d.sqlite-wal"
    size = wal.stat().st_size
    assert size > 4096
    with open(wal, "r+b") as fh:
        fh.truncate(size - 100)
    recovered = DocStore(crash / "d.sqlite")
    assert recovered.seq == 4
    assert [recovered.get(f"id{i}") is not None for i in range(5)] == [True] * 4 + [False]


def test_aliases_share_the_iid_counter_and_belong_to_their_document(tmp_path):
    store = DocStore(tmp_path / "d.sqlite")
    v, av = vecs(2), vecs(3, seed=1)
    r1 = store.upsert(
        [Document("a", "alpha", aliases=("al-1", "al-2")), Document("b", "beta", aliases=("bl",))],
        v,
        av,
    )
    assert r1.iids.tolist() == [1, 2] and r1.alias_iids.tolist() == [3, 4, 5]
    assert r1.replaced.tolist() == [] and store.count() == 2 and store.alias_count() == 3
    assert store.get("a").aliases == ("al-1", "al-2")
    found = store.resolve([4, 5, 1, 99])
    assert (found[4].doc.id, found[4].alias) == ("a", "al-2")
    assert (found[5].doc.id, found[5].alias) == ("b", "bl")
    assert (found[1].doc.id, found[1].alias) == ("a", None) and 99 not in found
    # vectors of documents and then aliases, all replayable
    got = list(store.vectors_since(0, 4))
    assert [ids.tolist() for ids, _ in got] == [[1, 2], [3, 4, 5]]
    np.testing.assert_array_equal(got[1][1], av)
    # a re-upsert replaces the aliases (tombstoned); new iids continue past every earlier one
    # (SQLite's upsert may also consume a number, so only "larger" is promised, not "next")
    r2 = store.upsert([Document("a", "alpha 2", aliases=("new",))], vecs(1), vecs(1, seed=2))
    assert r2.iids.tolist() == [1] and r2.replaced.tolist() == [3, 4]
    (new_alias,) = r2.alias_iids.tolist()
    assert new_alias > 5
    assert store.tombstones_since(1).tolist() == [3, 4]
    assert store.get("a").aliases == ("new",) and 3 not in store.resolve([3])
    (c_iid,) = store.upsert([Document("c", "gamma")], vecs(1)).iids.tolist()
    assert c_iid > new_alias
    # without aliases an upsert drops the old ones
    assert store.upsert([Document("b", "beta")], vecs(1)).replaced.tolist() == [5]
    # delete removes the document's aliases with it, and the counter survives a reopen
    d = store.delete(["a"])
    assert d.iids.tolist() == [1] and d.alias_iids.tolist() == [new_alias]
    assert store.alias_count() == 0
    assert sorted(store.tombstones_since(d.seq - 1)) == [1, new_alias]
    store.close()
    again = DocStore(tmp_path / "d.sqlite")
    r3 = again.upsert([Document("z", "zeta", aliases=("zz",))], vecs(1), vecs(1))
    assert c_iid < r3.iids[0] < r3.alias_iids[0]
    assert again.get("z").aliases == ("zz",)


def test_alias_vectors_must_match_the_aliases(tmp_path):
    store = DocStore(tmp_path / "d.sqlite")
    with pytest.raises(ValueError, match="alias_vectors"):
        store.upsert([Document("a", "x", aliases=("y", "z"))], vecs(1), vecs(1))
    with pytest.raises(ValueError, match="alias_vectors"):
        store.upsert([Document("a", "x", aliases=("y",))], vecs(1))
    assert store.seq == 0 and store.count() == 0


def test_page_lists_documents_in_id_order_with_their_aliases(tmp_path):
    store = DocStore(tmp_path / "d.sqlite")
    docs = [
        Document(f"d{i}", f"text {i}", {"i": i}, aliases=(f"a{i}",) * (i % 2)) for i in range(5)
    ]
    store.upsert(list(reversed(docs)), vecs(5), vecs(2, seed=1))
    first = store.page(0, 2)
    assert [d.id for d in first] == ["d0", "d1"]
    assert first[0].aliases == () and first[1].aliases == ("a1",)
    assert first[1].payload == {"i": 1} and first[1].text == "text 1"
    assert [d.id for d in store.page(4, 10)] == ["d4"]
    assert store.page(5, 10) == []
    with pytest.raises(ValueError, match=">= 0"):
        store.page(-1, 2)
