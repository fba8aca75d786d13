"""DocStore.merge: members become aliases of the canonical document in one transaction."""

from __future__ import annotations

import numpy as np
import pytest

from app.index import lexical
from app.index.docstore import DocStore, Document


def _store(tmp_path) -> DocStore:
    store = DocStore(tmp_path / "docs.sqlite")
    vectors = np.eye(3, 4, dtype=np.float32)
    docs = [Document("a", "reset password"), Document("b", "forgot login", aliases=("lost key",)),
            Document("c", "parcel")]  # fmt: skip
    store.upsert(docs, vectors, np.eye(1, 4, 3, dtype=np.float32))
    return store


def test_merge_moves_text_and_aliases_with_their_vectors(tmp_path):
    store = _store(tmp_path)
    before = store.seq
    result = store.merge([("a", ["b", "a", "missing"]), ("gone", ["c"])])
    assert result.merged == 1 and result.seq == before + 1
    assert result.removed.tolist() == [2]
    np.testing.assert_array_equal(result.alias_vectors, np.eye(3, 4, dtype=np.float32)[[1]])
    assert store.get("b") is None and store.get("c") is not None
    assert store.get("a").aliases == ("lost key", "forgot login")  # by iid: moved, then new
    assert store.tombstones_since(before).tolist() == [2]
    found = store.resolve([i for i, _ in store.lexical_search("login key", 5)])
    assert {r.doc.id for r in found.values()} == {"a"}
    # replay after a crash sees the moved alias and the new one (and the tombstone above)
    iids = np.concatenate([i for i, _ in store.vectors_since(before, 4)]).tolist()
    assert sorted(iids) == sorted([4, int(result.alias_iids[0])])
    store.close()


def test_a_failed_merge_changes_nothing(tmp_path, monkeypatch):
    store = _store(tmp_path)

    def broken(conn, rows):
        raise RuntimeError("crash inside the transaction")

    monkeypatch.setattr(lexical, "write_rows", broken)
    with pytest.raises(RuntimeError):
        store.merge([("a", ["b"])])
    monkeypatch.undo()
    assert store.get("b").aliases == ("lost key",) and store.get("a").aliases == ()
    assert store.count() == 3 and store.tombstones_since(0).tolist() == []
    store.close()
