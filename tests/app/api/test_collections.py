"""Collections, /search and /similarity through a real uvicorn server, for both backends."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import httpx
import numpy as np
import pytest

from tests.live_server import LiveServer

DOCS = [
    ("q1", "how do I reset my password", {"lang": "en", "topic": "account"}),
    ("q2", "I forgot my password", {"lang": "en", "topic": "account"}),
    ("q3", "where is my order", {"lang": "en", "topic": "shipping"}),
    ("q4", "the parcel has not arrived", {"lang": "en", "topic": "shipping"}),
    ("q5", "怎么修改密码", {"lang": "zh", "topic": "account"}),
    ("q6", "我的快递到哪里了", {"lang": "zh", "topic": "shipping"}),
    ("q7", "cancel my subscription please", {"lang": "en", "topic": "billing"}),
    ("q8", "refund for a double charge", {"lang": "en", "topic": "billing"}),
]
_names = (f"c{i}" for i in itertools.count())


@pytest.fixture(scope="module", params=["faiss", "milvus"])
def api(request, tiny_models_dir, tmp_path_factory) -> Iterator[httpx.Client]:
    data = tmp_path_factory.mktemp(f"collections-{request.param}")
    env = {
        "SIMSERVE_MODELS__DEFAULT": "tiny",
        "SIMSERVE_MODELS__INTRA_OP_THREADS": "1",
        "SIMSERVE_COLLECTIONS__DATA_DIR": str(data),
        "SIMSERVE_COLLECTIONS__DEFAULT_BACKEND": request.param,
    }
    if request.param == "milvus":  # the session's real Milvus server (tests/conftest.py)
        env["SIMSERVE_COLLECTIONS__MILVUS_URI"] = request.getfixturevalue("milvus_uri")
        env["SIMSERVE_COLLECTIONS__MILVUS_NAMESPACE"] = f"api{data.name[-6:].replace('-', '_')}"
    server = LiveServer([tiny_models_dir], env=env)
    with server, httpx.Client(base_url=server.url, timeout=60) as http:
        yield http


def make(api: httpx.Client, index: dict | None = None, **body) -> str:
    name = next(_names)
    r = api.put(f"/collections/{name}", json={**body, **({"index": index} if index else {})})
    assert r.status_code == 201, r.text
    docs = [{"id": i, "text": t, "payload": p} for i, t, p in DOCS]
    r = api.post(f"/collections/{name}/documents", json={"documents": docs})
    assert r.status_code == 200, r.text
    assert r.json()["upserted"] == len(DOCS)
    return name


def embed(api, texts, model="tiny"):
    r = api.post("/embed", json={"texts": texts, "model": model})
    return np.asarray(r.json()["embeddings"])


@pytest.mark.parametrize(
    "index", [{"kind": "flat"}, {"kind": "hnsw", "m": 8}, {"kind": "ivf", "nlist": 2, "nprobe": 2}]
)
def test_collection_lifecycle_and_exact_search(api, index):
    name = make(api, index)
    info = api.get(f"/collections/{name}").json()
    assert (
        info["size"] == len(DOCS)
        and info["model"] == "tiny"
        and info["index"]["kind"] == index["kind"]
    )
    assert info["dimension"] == embed(api, ["x"]).shape[1]
    assert name in [c["name"] for c in api.get("/collections").json()["collections"]]

    r = api.post("/search", json={"collection": name, "query": DOCS[2][1], "top_k": 3})
    assert r.status_code == 200, r.text
    body = r.json()
    hits = body["results"][0]["hits"]
    assert hits[0]["id"] == "q3" and hits[0]["payload"] == DOCS[2][2]
    # scores are the cosine of the served vectors, in descending order
    vecs = embed(api, [DOCS[2][1]] + [h["text"] for h in hits])
    np.testing.assert_allclose([h["score"] for h in hits], vecs[1:] @ vecs[0], atol=1e-4)
    assert (
        set(body["timings"]) >= {"embed_ms", "search_ms"} and body["timings"]["rerank_ms"] is None
    )

    assert api.delete(f"/collections/{name}").status_code == 200
    assert api.get(f"/collections/{name}").status_code == 404


def test_upsert_replaces_get_and_delete(api):
    name = make(api)
    r = api.post(f"/collections/{name}/documents",
                 json={"documents": [{"id": "q1", "text": "completely new words", "payload": {"v": 2}}]})  # fmt: skip
    assert r.status_code == 200 and r.json()["seq"] >= 2
    doc = api.get(f"/collections/{name}/documents/q1").json()
    assert doc == {"id": "q1", "text": "completely new words", "payload": {"v": 2}, "aliases": []}
    hits = api.post(
        "/search", json={"collection": name, "query": "completely new words", "top_k": 1}
    ).json()
    assert hits["results"][0]["hits"][0]["id"] == "q1"
    assert api.get(f"/collections/{name}").json()["size"] == len(DOCS)
    r = api.post(f"/collections/{name}/documents/delete", json={"ids": ["q1", "nope"]})
    assert r.json()["deleted"] == 1 and r.json()["missing"] == ["nope"]
    assert api.get(f"/collections/{name}/documents/q1").status_code == 404
    res = api.post(
        "/search", json={"collection": name, "query": "completely new words", "top_k": 8}
    ).json()
    assert "q1" not in [h["id"] for h in res["results"][0]["hits"]]
    assert len(res["results"][0]["hits"]) == len(DOCS) - 1


def test_filter_must_and_must_not(api):
    name = make(api)
    body = {"collection": name, "queries": ["password", "order"], "top_k": 5,
            "filter": {"must": {"topic": "account"}, "must_not": {"lang": "zh"}}}  # fmt: skip
    res = api.post("/search", json=body).json()
    for result in res["results"]:
        assert sorted(h["id"] for h in result["hits"]) == ["q1", "q2"]


@pytest.mark.parametrize("method", ["wrd", "wmd"])
def test_rerank_orders_by_the_similarity_endpoint_scores(api, method):
    name = make(api)
    query = "my password reset"
    body = {
        "collection": name,
        "query": query,
        "top_k": 4,
        "rerank": {"method": method, "candidates": 8},
    }
    res = api.post("/search", json=body).json()
    hits = res["results"][0]["hits"]
    assert len(hits) == 4
    texts = [h["text"] for h in hits]
    sim = api.post(
        "/similarity", json={"source": query, "sentences": [d[1] for d in DOCS], "method": method}
    ).json()
    expected = sorted(sim["scores"], reverse=True)[:4]
    np.testing.assert_allclose([h["rerank_score"] for h in hits], expected, atol=1e-5)
    by_text = dict(zip([d[1] for d in DOCS], sim["scores"], strict=True))
    np.testing.assert_allclose(
        [by_text[t] for t in texts], [h["rerank_score"] for h in hits], atol=1e-5
    )
    assert res["timings"]["rerank_ms"] >= res["timings"]["candidate_tokens_ms"] >= 0


def test_rerank_self_match_is_perfect(api):
    name = make(api)
    body = {
        "collection": name,
        "query": DOCS[5][1],
        "top_k": 2,
        "rerank": {"method": "wrd", "candidates": 8},
    }
    hit = api.post("/search", json=body).json()["results"][0]["hits"][0]
    assert hit["id"] == "q6" and hit["rerank_score"] == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize(
    ("verb", "path", "body", "status", "code"),
    [
        # the client resolves the dot segment: the request never names a collection
        ("put", "/collections/../etc", {}, 404, "not_found"),
        ("put", "/collections/.hidden", {}, 400, "invalid_input"),
        # %2F is decoded before routing: "a/b" matches no collection route
        ("get", "/collections/a%2Fb", None, 404, "not_found"),
    ],
)
def test_bad_names_are_rejected(api, verb, path, body, status, code):
    r = api.request(verb.upper(), path, json=body)
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code
    if code == "invalid_input":
        assert r.json()["error"]["param"] == "name"


def test_errors(api):
    name = make(api)
    assert api.get("/collections/nope").status_code == 404
    r = api.post("/search", json={"collection": "nope", "query": "x"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "collection_not_found"
    r = api.put(f"/collections/{name}", json={"model": "tiny-cls"})
    assert r.status_code == 409 and "tiny" in r.json()["error"]["message"]
    r = api.post("/search", json={"collection": name, "query": "x", "model": "tiny-cls"})
    assert r.status_code == 409 and r.json()["error"]["param"] == "model"
    r = api.post(
        f"/collections/{name}/documents",
        json={"documents": [{"id": "v", "text": "t", "vector": [0.5, 0.5]}]},
    )
    assert r.status_code == 422 and r.json()["error"]["param"] == "documents[0].vector"
    r = api.post(
        "/search",
        json={
            "collection": name,
            "query": "x",
            "top_k": 5,
            "rerank": {"method": "wrd", "candidates": 2},
        },
    )
    assert r.status_code == 422 and r.json()["error"]["param"] == "rerank.candidates"
    r = api.post("/search", json={"collection": name, "query": "x", "queries": ["y"]})
    assert r.status_code == 400 and "exactly one" in r.json()["error"]["message"]
    r = api.post("/similarity", json={"source": "x"})
    assert r.status_code == 400 and r.json()["error"]["param"] == "pairs"
    r = api.put("/collections/zz", json={"index": {"kind": "hnsw", "m": 1}})
    assert r.status_code == 422 and r.json()["error"]["param"] == "params"
    r = api.put("/collections/zz", json={"index": {"kind": "annoy"}})
    assert r.status_code == 422
    r = api.post(f"/collections/{name}/documents", json={"documents": [{"id": "e", "text": "  "}]})
    assert r.status_code == 400 and r.json()["error"]["param"] == "documents[0].text"


def test_precomputed_vectors_are_accepted(api):
    name = make(api)
    dim = api.get(f"/collections/{name}").json()["dimension"]
    vec = np.zeros(dim)
    vec[0] = 3.0
    r = api.post(
        f"/collections/{name}/documents",
        json={"documents": [{"id": "v", "text": "vector doc", "vector": vec.tolist()}]},
    )
    assert r.status_code == 200, r.text


def test_similarity_methods_match_the_engine(api, tiny_models_dir):
    from app.engines.encoder import Encoder, EncodeRequest
    from app.rerank.distances import RerankMethod, similarity
    from app.settings import BatcherSettings, ModelSettings

    pairs = [
        ["how do I reset my password", "I forgot my password"],
        ["where is my order", "怎么修改密码"],
    ]
    encoder = Encoder.load(tiny_models_dir / "tiny", ModelSettings(), BatcherSettings())

    def run(text):
        return encoder.run([EncodeRequest(t, True) for t in encoder.tokenize([text])])[0]

    for method in ("cosine", "wmd", "wrd"):
        r = api.post("/similarity", json={"pairs": pairs, "method": method})
        assert r.status_code == 200, r.text
        got = r.json()["scores"]
        for (a, b), score in zip(pairs, got, strict=True):
            ea, eb = run(a), run(b)
            if method == "cosine":
                want = ea.vector @ eb.vector / np.linalg.norm(ea.vector) / np.linalg.norm(eb.vector)
            else:
                want = similarity(RerankMethod(method), ea.token_vectors, eb.token_vectors)
            assert score == pytest.approx(float(want), abs=1e-4), method
    r = api.post("/similarity", json={"pairs": [["a"]], "method": "wrd"})
    assert r.status_code == 422
    r = api.post("/similarity", json={"pairs": [["a", "b"]], "method": "jaccard"})
    assert r.status_code == 422


def test_aliases_find_their_document_once(api):
    name = make(api)
    alias = "what should I do when I cannot log in"
    doc = {"id": "q1", "text": DOCS[0][1], "payload": DOCS[0][2], "aliases": [alias, "pw reset"]}
    r = api.post(f"/collections/{name}/documents", json={"documents": [doc]})
    assert r.status_code == 200 and r.json()["aliases"] == 2
    assert api.get(f"/collections/{name}/documents/q1").json()["aliases"] == [alias, "pw reset"]
    assert api.get(f"/collections/{name}").json()["size"] == len(DOCS)  # aliases not counted
    res = api.post("/search", json={"collection": name, "query": alias, "top_k": len(DOCS)})
    hits = res.json()["results"][0]["hits"]
    assert hits[0]["id"] == "q1" and hits[0]["matched_alias"] == alias
    assert hits[0]["score"] == pytest.approx(1.0, abs=1e-4)
    assert sorted(h["id"] for h in hits) == sorted(i for i, _, _ in DOCS)  # each once
    direct = api.post("/search", json={"collection": name, "query": DOCS[2][1], "top_k": 1})
    assert direct.json()["results"][0]["hits"][0]["matched_alias"] is None
    reranked = api.post(
        "/search",
        json={"collection": name, "query": alias, "top_k": 3, "rerank": {"method": "wrd"}},
    ).json()["results"][0]["hits"]
    assert len({h["id"] for h in reranked}) == 3
    r = api.post(f"/collections/{name}/documents/delete", json={"ids": ["q1"]})
    assert (r.json()["deleted"], r.json()["aliases"]) == (1, 2)
    res = api.post("/search", json={"collection": name, "query": alias, "top_k": 1}).json()
    assert res["results"][0]["hits"][0]["id"] != "q1"


def test_alias_errors_and_augment_without_a_generator(api):
    name = make(api)
    r = api.post(
        f"/collections/{name}/documents",
        json={"documents": [{"id": "a", "text": "x", "aliases": ["ok", " "]}]},
    )
    assert r.status_code == 400 and r.json()["error"]["param"] == "documents[0].aliases[1]"
    r = api.post(
        f"/collections/{name}/documents",
        json={"documents": [{"id": "a", "text": "x", "aliases": [f"a{i}" for i in range(33)]}]},
    )
    assert r.status_code == 413 and r.json()["error"]["param"] == "documents[0].aliases"
    r = api.post(
        f"/collections/{name}/documents",
        json={"documents": [{"id": "a", "text": "x"}], "augment": {"k": 2}},
    )
    assert r.status_code == 503 and "train-simbert" in r.json()["error"]["message"]
    assert api.get(f"/collections/{name}/documents/a").status_code == 404  # nothing written
