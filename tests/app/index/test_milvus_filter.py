"""Payload filters pushed down to Milvus: the expression mapping, injection-safe quoting, and
(on the real server) the same documents as `PayloadFilter.matches` with exactly top_k hits."""

from __future__ import annotations

import time

import numpy as np
import pytest

from app.index.base import Backend, IndexKind, IndexSpec
from app.index.collection import CollectionConfig
from app.index.docstore import Document
from app.index.filters import PayloadFilter
from app.index.milvus_filter import literal, quote, to_milvus
from app.index.store import CollectionStore
from app.settings import CollectionSettings

DIM = 8
EVIL = 'x" ) or true or ( payload["a'


def test_mapping_of_must_and_must_not():
    got = to_milvus(PayloadFilter(must={"lang": "en", "n": 3}, must_not={"draft": True}))
    assert got.expression == (
        '(payload["lang"] == "en") and (payload["n"] == 3) and not (payload["draft"] == true)'
    )
    assert got.residual is None
    assert to_milvus(PayloadFilter()) == ("", None)
    assert to_milvus(None) == ("", None)


def test_values_milvus_cannot_compare_exactly_stay_in_python():
    flt = PayloadFilter(must={"tags": ["a"], "k": "v", "none": None}, must_not={"o": {"x": 1}})
    got = to_milvus(flt)
    assert got.expression == '(payload["k"] == "v")'
    assert got.residual == PayloadFilter(
        must={"tags": ["a"], "none": None}, must_not={"o": {"x": 1}}
    )
    assert literal(2**63) is None and literal(float("nan")) is None and literal(1.5) == "1.5"


def test_quoting_cannot_end_the_literal():
    assert quote(EVIL) == '"x\\" ) or true or ( payload[\\"a"'
    assert quote("back\\slash\nline") == '"back\\\\slash\\nline"'
    assert quote("ctl\x01") is None  # no exact escape: such a clause stays in Python
    assert to_milvus(PayloadFilter(must={EVIL: EVIL})).residual is None


def _unit(n, seed):
    x = np.random.default_rng(seed).normal(size=(n, DIM)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


VALUES = ["en", "zh", 'a"b', "back\\slash", "new\nline", "中文", 1, 1.0, 2, True, False,
          None, [1, 2], {"x": 1}, "1", "ctl\x01"]  # fmt: skip


def _payload(rng) -> dict:
    keys = ["lang", "n", EVIL, "flag"]
    return {k: VALUES[rng.integers(len(VALUES))] for k in keys if rng.random() < 0.8}


@pytest.fixture(scope="module")
def filled(milvus_uri, tmp_path_factory):
    settings = CollectionSettings(
        data_dir=tmp_path_factory.mktemp("colls"),
        milvus_uri=milvus_uri,
        milvus_namespace=f"filter{int(time.time())}",
    )
    store = CollectionStore(settings)
    config = CollectionConfig("f", "tiny", Backend.MILVUS, IndexSpec(IndexKind.FLAT, DIM), 0.0)
    coll, _ = store.create(config)
    rng = np.random.default_rng(0)
    docs = [Document(f"d{i}", f"text {i}", _payload(rng)) for i in range(300)]
    vecs = _unit(len(docs), 1)
    coll.upsert(docs, vecs)
    yield coll, docs, vecs
    store.drop("f")
    store.close()


def test_pushed_down_filters_match_the_python_filter_and_fill_top_k(filled):
    coll, docs, vecs = filled
    rng = np.random.default_rng(2)
    query = _unit(1, 3)
    scores = vecs @ query[0]
    for trial in range(40):
        keys = ["lang", "n", EVIL, "flag"]
        must = {k: VALUES[rng.integers(len(VALUES))] for k in keys if rng.random() < 0.4}
        must_not = {k: VALUES[rng.integers(len(VALUES))] for k in keys if rng.random() < 0.3}
        flt = PayloadFilter(must, must_not)
        expected = [i for i, d in enumerate(docs) if flt.matches(d.payload)]
        for k in (1, 5, 50):
            want = [f"d{i}" for i in sorted(expected, key=lambda i: -scores[i])[:k]]
            got = coll.search(query, k, flt)[0]
            assert [h.id for h in got] == want, (trial, flt, k)
