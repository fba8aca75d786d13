"""POST /paraphrase through a real uvicorn server on tiny random-weight SimBERT folders."""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import replace
from pathlib import Path

import httpx
import numpy as np
import pytest

pytest.importorskip("torch")

from app.engines.manifest import ModelKind, read_manifest, write_manifest  # noqa: E402
from app.generation.text import same_text  # noqa: E402
from app.settings import Settings  # noqa: E402
from models.simbert_words import write_word_list  # noqa: E402
from tests.app.generation.tiny_simbert import build_tiny_simbert, tiny_tokenizer  # noqa: E402
from tests.live_server import LiveServer  # noqa: E402

ENV = {"SIMSERVE_MODELS__INTRA_OP_THREADS": "1", "SIMSERVE_MODELS__DEFAULT": "tiny-simbert"}


@pytest.fixture(scope="module")
def dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("paraphrase")
    gen_dir, enc_dir = root / "generators", root / "encoders"
    build_tiny_simbert(gen_dir)
    build_tiny_simbert(gen_dir, name="tiny-stopper", sep_bias=30.0)
    build_tiny_simbert(gen_dir, name="tiny-worded")
    write_word_list(gen_dir / "tiny-worded", [" ".join(LISTED)])
    # an encoder-only folder: same graph, kind=encoder, no generator section
    shutil.copytree(gen_dir / "tiny-simbert", enc_dir / "tiny-encoder")
    folder = enc_dir / "tiny-encoder"
    manifest = read_manifest(folder)
    write_manifest(
        folder, replace(manifest, name="tiny-encoder", kind=ModelKind.ENCODER, generator=None)
    )
    return gen_dir, enc_dir


@pytest.fixture(scope="module")
def live(dirs):
    gen_dir, enc_dir = dirs
    shutil.copytree(enc_dir / "tiny-encoder", gen_dir.parent / "mixed" / "tiny-encoder")
    server = LiveServer([gen_dir, gen_dir.parent / "mixed"], env=ENV)
    with server, httpx.Client(base_url=server.url, timeout=60) as http:
        yield http


TEXT = "how is the weather today"
LISTED = ["cats", "dogs", "xyz", "reading", "weathers", "abc"]


def test_paraphrases_are_ranked_unique_and_scored_by_the_encoder(live):
    r = live.post("/paraphrase", json={"text": TEXT, "n": 24, "k": 10, "seed": 5, "max_length": 8})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model"] == "tiny-simbert"
    items = body["paraphrases"]
    texts = [p["text"] for p in items]
    scores = np.array([p["score"] for p in items])
    assert 1 <= len(items) <= 10
    assert len(set(texts)) == len(texts) and TEXT not in texts
    assert np.all(np.diff(scores) <= 1e-7)
    usage = body["usage"]
    assert usage["candidates"] == 24 and usage["seed"] == 5
    assert usage["unique"] >= len(items)
    assert usage["generated_tokens"] <= 24 * 8
    emb = live.post("/embed", json={"texts": [TEXT, *texts], "model": "tiny-simbert"}).json()
    vectors = np.array(emb["embeddings"])
    np.testing.assert_allclose(vectors[1:] @ vectors[0], scores, atol=1e-5)


def test_same_seed_same_answer(live):
    req = {"text": TEXT, "n": 16, "k": 5, "seed": 11, "top_p": 0.9, "top_k": None}
    a, b = live.post("/paraphrase", json=req).json(), live.post("/paraphrase", json=req).json()
    assert a == b
    c = live.post("/paraphrase", json={**req, "seed": 12}).json()
    assert c["paraphrases"] != a["paraphrases"]


def test_random_seed_is_reported_and_reproduces(live):
    first = live.post("/paraphrase", json={"text": TEXT, "n": 8, "k": 4}).json()
    again = live.post(
        "/paraphrase", json={"text": TEXT, "n": 8, "k": 4, "seed": first["usage"]["seed"]}
    ).json()
    assert again == first


def test_stops_at_sep(live):
    r = live.post("/paraphrase", json={"text": TEXT, "model": "tiny-stopper", "n": 8, "seed": 0})
    body = r.json()
    assert r.status_code == 200 and body["usage"]["truncated"] == 0
    assert body["usage"]["generated_tokens"] == 8  # one token each, then [SEP]


def test_length_cap_keeps_truncated_samples(live):
    body = live.post(
        "/paraphrase", json={"text": TEXT, "n": 8, "max_length": 3, "seed": 1, "temperature": 2.0}
    ).json()
    assert body["usage"]["truncated"] > 0
    assert body["usage"]["generated_tokens"] <= 8 * 3
    assert body["paraphrases"]


@pytest.mark.parametrize(
    ("patch", "status", "param"),
    [
        ({"n": 100_000}, 413, "n"),
        ({"max_length": 1000}, 413, "max_length"),
        ({"k": 0}, 422, "k"),
        ({"top_p": 1.5}, 422, "top_p"),
        ({"top_k": 0}, 422, "top_k"),
        ({"temperature": 0}, 422, "temperature"),
        ({"text": "   "}, 400, "text"),
        ({"text": "x" * 600}, 413, "text"),
        ({"model": "tiny-encoder"}, 422, "model"),
        ({"model": "nope"}, 404, "model"),
        ({"constraints": {"no_repeat_ngram": -1}}, 422, "constraints.no_repeat_ngram"),
        ({"constraints": {"no_repeat_ngram": 17}}, 422, "constraints.no_repeat_ngram"),
        ({"constraints": {"no_repeat_ngram": "3"}}, 422, "constraints.no_repeat_ngram"),
        ({"constraints": {"words": "maybe"}}, 422, "constraints.words"),
        ({"constraints": {"keep_question": 1}}, 422, "constraints.keep_question"),
        ({"constraints": {"bogus": True}}, 422, "constraints.bogus"),
        ({"constraints": [1]}, 422, "constraints"),
    ],
)
def test_bad_requests_get_clear_errors(live, patch, status, param):
    r = live.post("/paraphrase", json={"text": TEXT, "n": 4, **patch})
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["param"] == param and error["message"]


def test_503_with_how_to_when_no_generator_is_served(dirs):
    _, enc_dir = dirs
    server = LiveServer([enc_dir], env={**ENV, "SIMSERVE_MODELS__DEFAULT": "tiny-encoder"})
    with server, httpx.Client(base_url=server.url, timeout=60) as http:
        r = http.post("/paraphrase", json={"text": TEXT})
        assert http.post("/embed", json={"texts": [TEXT]}).status_code == 200
    assert r.status_code == 503
    message = json.dumps(r.json())
    assert "train-simbert" in message and "models/zoo/minilm-simbert" in message


def test_503_names_the_problem_when_a_generator_folder_is_unusable(dirs, tmp_path):
    """A folder from an older export (one packed key/value cache) answers 503 with the fix;
    its encoder still serves /embed."""
    gen_dir, _ = dirs
    folder = tmp_path / "old" / "tiny-old"
    shutil.copytree(gen_dir / "tiny-simbert", folder)
    manifest = read_manifest(folder)
    generator = json.loads(json.dumps(manifest.generator))
    generator["inputs"]["past"] = "past_key_values"
    generator["outputs"]["present"] = "present_key_values"
    write_manifest(folder, replace(manifest, name="tiny-old", generator=generator))
    server = LiveServer([folder.parent], env={**ENV, "SIMSERVE_MODELS__DEFAULT": "tiny-old"})
    with server, httpx.Client(base_url=server.url, timeout=60) as http:
        r = http.post("/paraphrase", json={"text": TEXT, "n": 4})
        assert http.post("/embed", json={"texts": [TEXT]}).status_code == 200
    assert r.status_code == 503, r.text
    assert "re-export" in r.json()["error"]["message"]


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def _heads() -> set[str]:
    return {t for t in tiny_tokenizer().get_vocab() if not t.startswith("##")}


def test_constraints_on_by_default_give_listed_words_without_repeats(live):
    req = {"text": TEXT, "model": "tiny-worded", "n": 48, "k": 48, "seed": 3, "max_length": 8}
    on = live.post("/paraphrase", json={**req, "temperature": 1.5}).json()
    explicit = {"words": True, "no_repeat_ngram": 3, "no_repeat_word": True, "keep_question": True}
    assert (
        live.post("/paraphrase", json={**req, "temperature": 1.5, "constraints": explicit}).json()
        == on
    )
    off = live.post(
        "/paraphrase",
        json={
            **req,
            "temperature": 1.5,
            "constraints": {
                "words": False,
                "no_repeat_ngram": 0,
                "no_repeat_word": False,
                "keep_question": False,
            },
        },
    ).json()
    allowed = _heads() | set(LISTED) | set(_words(TEXT))
    texts = [p["text"] for p in on["paraphrases"]]
    assert texts and all(set(_words(t)) <= allowed for t in texts)
    assert all(a != b for t in texts for a, b in zip(t.split(), t.split()[1:], strict=False))
    # the same random model writes non-words when unconstrained
    assert any(not set(_words(p["text"])) <= allowed for p in off["paraphrases"])


def test_a_question_stays_a_question(live):
    # tiny-stopper ends every row after one token: words are completed with the mark,
    # punctuation is dropped
    req = {"text": TEXT + "?", "model": "tiny-stopper", "n": 32, "k": 32, "seed": 4}
    on = live.post("/paraphrase", json=req).json()
    texts = [p["text"] for p in on["paraphrases"]]
    assert texts and all(t.endswith("?") and len(t) >= 2 for t in texts)
    assert on["usage"]["unique"] == len(texts)
    off = live.post("/paraphrase", json={**req, "constraints": {"keep_question": False}}).json()
    assert off["usage"]["dropped"] == 0
    assert {p["text"] + "?" for p in off["paraphrases"] if p["text"][-1].isalnum()} == set(texts)
    assert on["usage"]["dropped"] == sum(not p["text"][-1].isalnum() for p in off["paraphrases"])
    # rows cut at the length cap without a question mark are dropped, not completed
    cut = live.post(
        "/paraphrase", json={"text": TEXT + "?", "n": 16, "seed": 4, "max_length": 4}
    ).json()
    assert cut["usage"]["truncated"] > 0 and cut["usage"]["dropped"] > 0
    assert all("?" in p["text"] for p in cut["paraphrases"])


ZOO = Path(__file__).resolve().parents[3] / "models" / "zoo"


def _demo_post(body: dict) -> httpx.Response:
    """One /paraphrase call to a fresh server of the committed demo generator."""
    env = {
        "SIMSERVE_MODELS__SERVE": '["minilm-simbert"]',
        "SIMSERVE_MODELS__DEFAULT": "minilm-simbert",
    }
    with (
        LiveServer([ZOO], env=env) as server,
        httpx.Client(base_url=server.url, timeout=60) as http,
    ):
        return http.post("/paraphrase", json=body)


@pytest.mark.skipif(not (ZOO / "minilm-simbert").is_dir(), reason="demo generator not built")
def test_committed_demo_generator_answers_out_of_the_box():
    assert any(Path(d) == Path("models/zoo") for d in Settings().models.dirs)
    r = _demo_post({"text": "How do I reset my password?", "n": 16, "k": 5, "seed": 0})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model"] == "minilm-simbert"
    assert 1 <= len(body["paraphrases"]) <= 5
    assert all(-1.0 <= p["score"] <= 1.0 + 1e-6 for p in body["paraphrases"])


@pytest.mark.slow
@pytest.mark.skipif(not (ZOO / "minilm-simbert").is_dir(), reason="demo generator not built")
def test_demo_generator_writes_listed_words_and_keeps_the_question():
    """The shipped demo with its training-text word list: constraints on by default."""
    folder = ZOO / "minilm-simbert"
    listed = set((folder / "words.txt").read_text(encoding="utf-8").split())
    vocab = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))["model"]["vocab"]
    text = "How do I reset my password?"
    allowed = listed | {t for t in vocab if not t.startswith("##")} | set(_words(text))
    body = _demo_post({"text": text, "n": 32, "k": 32, "seed": 0}).json()
    texts = [p["text"] for p in body["paraphrases"]]
    assert texts and all(t.endswith("?") for t in texts)
    assert not any(same_text(t, text) for t in texts)
    for t in texts:
        assert set(_words(t)) <= allowed, t
        words = t.split()
        assert all(a != b for a, b in zip(words, words[1:], strict=False)), t


def test_augment_indexes_the_paraphrases_as_aliases(live):
    assert live.put("/collections/faq", json={"model": "tiny-simbert"}).status_code == 201
    docs = [{"id": "w", "text": TEXT}, {"id": "o", "text": "where is my order"}]
    augment = {"k": 3, "n": 16, "seed": 7, "max_length": 8}
    r = live.post("/collections/faq/documents", json={"documents": docs, "augment": augment})
    assert r.status_code == 200, r.text
    stored = [live.get(f"/collections/faq/documents/{d['id']}").json() for d in docs]
    for i, (doc, got) in enumerate(zip(docs, stored, strict=True)):
        # exactly what /paraphrase returns for that text and seed (document i uses seed + i)
        same = live.post(
            "/paraphrase",
            json={"text": doc["text"], "k": 3, "n": 16, "seed": 7 + i, "max_length": 8},
        ).json()
        assert got["aliases"] == [p["text"] for p in same["paraphrases"]]
        assert 1 <= len(got["aliases"]) <= 3
    assert r.json()["aliases"] == sum(len(s["aliases"]) for s in stored)
    alias = stored[0]["aliases"][0]
    hit = live.post("/search", json={"collection": "faq", "query": alias, "top_k": 2}).json()
    hits = hit["results"][0]["hits"]
    assert hits[0]["id"] == "w" and hits[0]["matched_alias"] == alias
    assert [h["id"] for h in hits].count("w") == 1
    # min_score keeps only close paraphrases; a bound above every score keeps none
    r = live.post(
        "/collections/faq/documents",
        json={"documents": docs[:1], "augment": {**augment, "min_score": 1.0}},
    )
    assert r.json()["aliases"] == 0
    assert live.get("/collections/faq/documents/w").json()["aliases"] == []


def test_augment_is_bounded_per_request(live):
    live.put("/collections/bounded", json={"model": "tiny-simbert"})
    docs = [{"id": str(i), "text": f"question {i}"} for i in range(9)]
    r = live.post("/collections/bounded/documents", json={"documents": docs, "augment": {"k": 1}})
    assert r.status_code == 413 and r.json()["error"]["param"] == "documents"
    r = live.post(
        "/collections/bounded/documents",
        json={"documents": docs[:1], "augment": {"k": 1, "n": 100000}},
    )
    assert r.status_code == 413 and r.json()["error"]["param"] == "augment.n"
    r = live.post(
        "/collections/bounded/documents",
        json={"documents": docs[:1], "augment": {"k": 1, "seed": -1}},
    )
    assert r.status_code == 422 and r.json()["error"]["param"] == "augment.seed"
    r = live.post(
        "/collections/bounded/documents",
        json={"documents": [{"id": "x", "text": "y" * 600}], "augment": {"k": 1}},
    )
    assert r.status_code == 413 and r.json()["error"]["param"] == "documents[0].text"
    assert live.get("/collections/bounded").json()["size"] == 0
