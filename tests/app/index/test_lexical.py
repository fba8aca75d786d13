"""The FTS5 words index in the docstore: analyzer, kept in step with writes, same transaction."""

from __future__ import annotations

import numpy as np
import pytest

from app.index import lexical
from app.index.docstore import DocStore, Document


def test_terms_lowercase_words_and_segment_chinese():
    assert lexical.terms("How do I Reset my PASSWORD?") == [
        "how", "do", "i", "reset", "my", "password",
    ]  # fmt: skip
    words = lexical.terms("忘记密码怎么办")
    assert "密码" in words and "忘记" in words
    assert lexical.terms("ＡＢＣ１２") == ["abc12"]  # NFKC: full-width letters and digits
    assert lexical.match_expression("?!") is None
    assert lexical.match_expression('say "hi"') == '"say" OR "hi"'


def _vec(n: int) -> np.ndarray:
    return np.ones((n, 4), dtype=np.float32) / 2


def _store(tmp_path) -> DocStore:
    return DocStore(tmp_path / "docs.sqlite")


def _docs(store: DocStore, query: str) -> list[str]:
    found = store.resolve([iid for iid, _ in store.lexical_search(query, 10)])
    return [found[iid].doc.id for iid, _ in store.lexical_search(query, 10)]


def test_upsert_replace_alias_delete_stay_in_step(tmp_path):
    store = _store(tmp_path)
    store.upsert(
        [Document("a", "reset my password", aliases=("forgot login",)), Document("b", "银行卡怎么挂失")],
        _vec(2), _vec(1),
    )  # fmt: skip
    assert _docs(store, "password") == ["a"]
    assert _docs(store, "login") == ["a"]  # through the alias
    assert _docs(store, "挂失") == ["b"]
    store.upsert([Document("a", "change my email")], _vec(1))  # replaces text, drops the alias
    assert _docs(store, "password") == [] and _docs(store, "login") == []
    assert _docs(store, "email") == ["a"]
    store.delete(["b"])
    assert _docs(store, "挂失") == []
    store.close()
    reopened = _store(tmp_path)
    assert _docs(reopened, "email") == ["a"]
    reopened.close()


def test_bm25_ranks_rarer_and_more_matching_words_first(tmp_path):
    store = _store(tmp_path)
    texts = ["the card", "the card was lost", "the weather", "the news", "the game"]
    store.upsert([Document(str(i), t) for i, t in enumerate(texts)], _vec(len(texts)))
    ranked = [store.resolve([i])[i].doc.id for i, _ in store.lexical_search("lost card", 5)]
    assert ranked == ["1", "0"]
    scores = [s for _, s in store.lexical_search("lost card", 5)]
    assert scores[0] > scores[1] > 0
    store.close()


def test_a_failed_lexical_write_rolls_back_the_documents(tmp_path, monkeypatch):
    store = _store(tmp_path)
    store.upsert([Document("a", "first")], _vec(1))

    def broken(conn, rows):
        raise RuntimeError("crash inside the transaction")

    monkeypatch.setattr(lexical, "write_rows", broken)
    with pytest.raises(RuntimeError):
        store.upsert([Document("b", "second")], _vec(1))
    monkeypatch.undo()
    assert store.get("b") is None and store.count() == 1
    assert _docs(store, "second") == [] and _docs(store, "first") == ["a"]
    store.close()


def test_a_store_without_the_index_is_backfilled_on_open(tmp_path):
    store = _store(tmp_path)
    store.upsert([Document("a", "lost card", aliases=("stolen wallet",))], _vec(1), _vec(1))
    store._conn.execute("DROP TABLE lexical")  # as a store written before the lexical index
    store._conn.execute("DELETE FROM meta WHERE key = 'lexical'")
    store.close()
    reopened = _store(tmp_path)
    assert _docs(reopened, "card") == ["a"] and _docs(reopened, "wallet") == ["a"]
    reopened.close()
