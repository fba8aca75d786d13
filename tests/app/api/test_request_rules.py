"""Cross-field rules live in the request schemas (exactly one input form) and answer with
the body the routes gave before: 400 invalid_input, the rule's message and param."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.api.schemas.search import SearchRequest, SearchResponse, SimilarityRequest
from app.services.search import SearchHit, SearchResult, StageTimings

QUERY_RULE = {"code": "invalid_input", "message": "give exactly one of query or queries",
              "param": "query"}  # fmt: skip
PAIRS_RULE = {"code": "invalid_input", "message": "give either pairs, or source with sentences",
              "param": "pairs"}  # fmt: skip


@pytest.mark.parametrize(
    "body",
    [{"collection": "c"}, {"collection": "c", "query": "x", "queries": ["y"]}],
)
def test_search_needs_exactly_one_query_form(client, body):
    r = client.post("/search", json=body)
    assert r.status_code == 400 and r.json() == {"error": QUERY_RULE}


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"source": "x"},
        {"sentences": ["x"]},
        {"pairs": [["a", "b"]], "source": "x"},
        {"pairs": [["a", "b"]], "sentences": ["x"]},
        {"pairs": [["a", "b"]], "source": "x", "sentences": ["y"]},
    ],
)
def test_similarity_needs_pairs_or_source_with_sentences(client, body):
    r = client.post("/similarity", json=body)
    assert r.status_code == 400 and r.json() == {"error": PAIRS_RULE}


def test_field_errors_still_come_first_as_422(client):
    r = client.post("/search", json={"collection": "c", "top_k": "3"})
    assert r.status_code == 422 and r.json()["error"]["param"] == "top_k"


def test_the_rules_are_checked_by_the_schemas_themselves():
    with pytest.raises(ValidationError) as exc:
        SearchRequest(collection="c")
    assert exc.value.errors()[0]["type"] == "invalid_input"
    assert SearchRequest(collection="c", query="x").query_list == ["x"]
    assert SearchRequest(collection="c", queries=["x", "y"]).query_list == ["x", "y"]
    with pytest.raises(ValidationError):
        SimilarityRequest(source="x")
    assert SimilarityRequest(source="x", sentences=["y"]).pairs is None


def test_search_response_is_built_from_the_service_result():
    hit = SearchHit("d1", "text", {"k": 1}, 0.5, matched_alias="alias", lexical_score=2.0)
    result = SearchResult("faq", "m", [[hit], []], StageTimings(1.5, 2.5, None, None))
    body = SearchResponse.of(result, ["q1", "q2"]).model_dump()
    assert body["results"][0] == {
        "query": "q1",
        "hits": [
            {
                "id": "d1",
                "text": "text",
                "payload": {"k": 1},
                "score": 0.5,
                "rerank_score": None,
                "matched_alias": "alias",
                "lexical_score": 2.0,
                "fused_score": None,
            }  # fmt: skip
        ],
    }
    assert body["results"][1] == {"query": "q2", "hits": []}
    assert body["timings"] == {
        "embed_ms": 1.5, "search_ms": 2.5, "rerank_ms": None, "candidate_tokens_ms": None
    }  # fmt: skip
