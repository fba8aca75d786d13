"""SearchService rerank: `collections.rerank_prune` reaches the rerank call, same hits."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.api.app import create_app
from app.rerank import rerank as rerank_module
from app.services import search as search_module
from tests.app.api.conftest import tiny_settings

DOCS = [
    "how do I reset my password",
    "I forgot my password",
    "where is my order",
    "the parcel has not arrived",
    "cancel my subscription please",
    "refund for a double charge",
]


def _search(tiny_models_dir, monkeypatch, **collections) -> tuple[list[bool], list]:
    seen: list[bool] = []

    def recording(*args, prune: bool = False, **kwargs):
        seen.append(prune)
        return rerank_module.rerank(*args, prune=prune, **kwargs)

    monkeypatch.setattr(search_module, "rerank", recording)
    settings = tiny_settings(tiny_models_dir, collections=collections)
    with TestClient(create_app(settings)) as c:
        assert c.put("/collections/faq", json={"index": {"kind": "flat"}}).status_code == 201
        docs = [{"id": f"d{i}", "text": t} for i, t in enumerate(DOCS)]
        r = c.post("/collections/faq/documents", json={"documents": docs})
        assert r.status_code == 200, r.text
        body = {
            "collection": "faq",
            "query": "my password reset",
            "top_k": 2,
            "rerank": {"method": "wmd", "candidates": 6},
        }
        r = c.post("/search", json=body)
        assert r.status_code == 200, r.text
        hits = [(h["id"], h["rerank_score"]) for h in r.json()["results"][0]["hits"]]
    return seen, hits


def test_rerank_prune_setting_reaches_the_rerank_and_keeps_the_hits(tiny_models_dir, monkeypatch):
    seen_default, exhaustive = _search(tiny_models_dir, monkeypatch)
    seen_pruned, pruned = _search(tiny_models_dir, monkeypatch, rerank_prune=True)
    assert seen_default == [False] and seen_pruned == [True]
    assert [i for i, _ in pruned] == [i for i, _ in exhaustive]
    assert [s for _, s in pruned] == pytest.approx([s for _, s in exhaustive], rel=1e-9)
