"""Milvus-held collections below HTTP, on the real server: two stores (two nodes) sharing
one namespace, metadata in Milvus, browse / merge / vectors, and no local state."""

from __future__ import annotations

import time

import numpy as np
import pytest

from app.errors import CollectionNotFound, Conflict
from app.index.base import Backend, IndexKind, IndexSpec
from app.index.collection import CollectionConfig
from app.index.docstore import Document
from app.index.filters import PayloadFilter
from app.index.store import CollectionStore
from app.settings import CollectionSettings

DIM = 8


def unit(n, seed):
    x = np.random.default_rng(seed).normal(size=(n, DIM)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def config(kind=IndexKind.FLAT, name="faq"):
    return CollectionConfig(name, "tiny", Backend.MILVUS, IndexSpec(kind, DIM), time.time())


@pytest.fixture()
def node(tmp_path, milvus_uri, milvus_namespace):
    """node(label) -> a CollectionStore of its own data folder on the shared namespace."""
    stores = []

    def make(label: str, namespace: str = milvus_namespace) -> CollectionStore:
        settings = CollectionSettings(
            data_dir=tmp_path / label, milvus_uri=milvus_uri, milvus_namespace=namespace,
            milvus_recheck_s=0,
        )  # fmt: skip
        store = CollectionStore(settings)
        store.open_all()
        stores.append(store)
        return store

    yield make
    for store in stores:
        store.close()


def test_two_nodes_share_collections_config_and_meta(node, tmp_path):
    a, b = node("a"), node("b")
    coll_a, created = a.create(config(IndexKind.HNSW))
    assert created
    coll_b = b.get("faq")
    assert coll_b.config == coll_a.config and [c.config.name for c in b.list()] == ["faq"]
    assert b.create(config(IndexKind.HNSW))[1] is False  # same config: no-op, no reset
    with pytest.raises(Conflict):
        b.create(config(IndexKind.FLAT))
    v = unit(20, 0)
    coll_b.upsert([Document(f"d{i}", f"text {i}", {"i": i}) for i in range(20)], v)
    assert coll_a.size == 20 and coll_a.search(v[[3]], 1)[0][0].id == "d3"
    coll_a.set_meta("calibration", {"threshold": 0.7})
    assert coll_b.meta("calibration") == {"threshold": 0.7}
    # a third node starting later changes nothing
    c = node("c")
    assert c.get("faq").size == 20
    # another namespace is another deployment
    assert node("d", namespace=f"{a.settings.milvus_namespace}x").list() == []
    # a drop on one node is seen by the others, including on the objects they hold
    b.drop("faq")
    with pytest.raises(CollectionNotFound):
        a.get("faq")
    with pytest.raises(CollectionNotFound):
        coll_a.search(v[[0]], 1)
    assert b.list() == [] and coll_b.meta("calibration") is None
    # nothing was written locally
    assert not any((tmp_path / n).exists() and any((tmp_path / n).iterdir()) for n in "abc")


def test_browse_vectors_merge_and_alias_rewrite(node):
    store = node("a")
    coll, _ = store.create(config())
    v = unit(6, 1)
    docs = [Document(f"d{i}", f"text {i}", {"i": i}) for i in range(5)]
    docs.append(Document("d5", "text 5", {"i": 5}, aliases=("alias one", "alias two")))
    ack = coll.upsert(docs, v[:6], unit(2, 2))
    assert (ack.count, ack.aliases) == (6, 2)
    page = coll.documents(1, 2)
    assert page.total == 6 and [d.id for d in page.documents] == ["d1", "d2"]
    # an upsert with fewer aliases removes the extra ones
    coll.upsert([Document("d5", "text 5b", {"i": 5}, aliases=("alias one",))], v[[5]], unit(1, 3))
    assert coll.get("d5").aliases == ("alias one",) and coll.get("d5").text == "text 5b"
    iids = {d.id: d.iid for d in coll.documents(0, 10).documents}
    vecs = coll.document_vectors([iids["d0"], iids["d1"]])
    np.testing.assert_allclose(vecs[iids["d0"]], v[0], atol=1e-6)
    best = coll.cosines([iids["d5"]], unit(1, 3)[0])
    assert best[iids["d5"]][1] == "alias one"
    assert best[iids["d5"]][0] == pytest.approx(1.0, abs=1e-5)
    # merge: d1 and d2 become aliases of d0 (with their own vectors), d9 is skipped
    ack = coll.merge([("d0", ["d1", "d2", "d9"])])
    assert ack.count == 2 and coll.size == 4
    assert coll.get("d0").aliases == ("text 1", "text 2") and coll.get("d1") is None
    hit = coll.search(v[[1]], 1)[0][0]
    assert (hit.id, hit.alias) == ("d0", "text 1")
    ack = coll.delete(["d0", "nope"])
    assert (ack.count, ack.aliases, ack.missing) == (1, 2, ["nope"])
    with pytest.raises(Exception, match="words index"):
        coll.lexical("text", 3)


def test_a_legacy_local_milvus_folder_is_quarantined_not_dropped(node, tmp_path):
    from app.index.collection import Collection

    folder = tmp_path / "a" / "old"
    folder.mkdir(parents=True)
    Collection.initialise(folder, config(name="old"))
    store = node("a")
    assert "old" in store.quarantined()


def test_milvus_lite_for_quick_local_runs(tmp_path):
    """Empty milvus_uri: a milvus-lite file in data_dir (it keeps no collection description:
    the config is a meta row there)."""
    pytest.importorskip("milvus_lite", reason="milvus-lite is not installed")
    settings = CollectionSettings(data_dir=tmp_path)
    store = CollectionStore(settings)
    store.open_all()
    coll, _ = store.create(config())
    v = unit(10, 4)
    coll.upsert([Document(f"d{i}", f"t{i}", {"g": i % 2}) for i in range(10)], v)
    assert [h.id for h in coll.search(v[[1]], 1, PayloadFilter(must={"g": 1}))[0]] == ["d1"]
    store.close()
    again = CollectionStore(settings)
    again.open_all()
    assert [c.config.name for c in again.list()] == ["faq"] and again.get("faq").size == 10
    again.drop("faq")
    assert again.list() == []
    again.close()
