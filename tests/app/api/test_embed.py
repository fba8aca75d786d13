"""/embed and /v1/embeddings through the real app on a tiny real ONNX model."""

from __future__ import annotations

import base64

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.api.app import create_app
from app.engines.encoder import Encoder, EncodeRequest
from app.settings import BatcherSettings, ModelSettings
from tests.app.api.conftest import tiny_settings

TEXTS = ["hello world", "the cat sat on the mat today", "中文 句子"]


def test_embed_returns_normalised_vectors_matching_the_engine(client, tiny_models_dir):
    r = client.post("/embed", json={"texts": TEXTS})
    assert r.status_code == 200, r.text
    body = r.json()
    vectors = np.asarray(body["embeddings"], dtype=np.float32)
    assert body["model"] == "tiny" and body["dim"] == vectors.shape[1] and vectors.shape[0] == 3
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # the same vectors as the engine alone, one text at a time (no batch-mate effects)
    encoder = Encoder.load(tiny_models_dir / "tiny", ModelSettings(), BatcherSettings())
    for text, got in zip(TEXTS, vectors, strict=True):
        ref = encoder.run([EncodeRequest(t) for t in encoder.tokenize([text])])[0].vector
        np.testing.assert_allclose(got, ref / np.linalg.norm(ref), atol=1e-5)
    assert body["usage"]["tokens"] > 3 * 2 and body["usage"]["truncated"] == 0


def test_normalize_false_keeps_raw_length_and_direction(client):
    raw = np.asarray(
        client.post("/embed", json={"texts": TEXTS, "normalize": False}).json()["embeddings"]
    )
    unit = np.asarray(client.post("/embed", json={"texts": TEXTS}).json()["embeddings"])
    norms = np.linalg.norm(raw, axis=1)
    assert not np.allclose(norms, 1.0, atol=1e-3)
    np.testing.assert_allclose(raw / norms[:, None], unit, atol=1e-5)


def test_overlong_text_is_truncated_and_counted_or_rejected(client):
    long_text = "word " * 2000
    r = client.post("/embed", json={"texts": [long_text, "short"]})
    assert r.status_code == 200 and r.json()["usage"]["truncated"] == 1
    r = client.post("/embed", json={"texts": ["short", long_text], "truncate": False})
    assert r.status_code == 422
    assert (
        r.json()["error"]["code"] == "validation_error" and r.json()["error"]["param"] == "texts[1]"
    )


@pytest.mark.parametrize(
    ("payload", "status", "code", "param"),
    [
        ({"texts": []}, 400, "invalid_input", "texts"),
        ({"texts": ["ok", "  "]}, 400, "invalid_input", "texts[1]"),
        ({"texts": [1]}, 422, "validation_error", "texts[0]"),
        ({"texts": "not a list"}, 422, "validation_error", "texts"),
        ({"texts": ["x"], "model": "nope"}, 404, "model_not_found", "model"),
        ({"texts": ["x"], "bogus": 1}, 422, "validation_error", "bogus"),
        ({"texts": ["x"], "normalize": "yes"}, 422, "validation_error", "normalize"),
        ({}, 422, "validation_error", "texts"),
        ([1, 2], 400, "invalid_input", None),
    ],
)
def test_bad_embed_input_gets_a_clear_json_error(client, payload, status, code, param):
    r = client.post("/embed", json=payload)
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["code"] == code and err["message"]
    assert err.get("param") == param


def test_invalid_json_is_400(client):
    r = client.post("/embed", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_json"


def test_limits_are_settings_and_answer_413(tiny_models_dir):
    settings = tiny_settings(
        tiny_models_dir, limits={"max_texts": 2, "max_chars": 50, "max_body_bytes": 2048}
    )
    with TestClient(create_app(settings)) as c:
        r = c.post("/embed", json={"texts": ["a", "b", "c"]})
        assert r.status_code == 413 and r.json()["error"]["param"] == "texts"
        r = c.post("/embed", json={"texts": ["x" * 51]})
        assert r.status_code == 413 and r.json()["error"]["param"] == "texts[0]"
        r = c.post("/embed", json={"texts": ["y" * 3000]})
        assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
        assert c.get("/health/live").status_code == 200


def test_full_queue_answers_429_with_retry_after(tiny_models_dir):
    settings = tiny_settings(
        tiny_models_dir, batcher={"queue_size": 2}, lifecycle={"retry_after_s": 7}
    )
    with TestClient(create_app(settings)) as c:
        r = c.post("/embed", json={"texts": ["a", "b", "c"]})
        assert r.status_code == 429 and r.headers["retry-after"] == "7"
        assert r.json()["error"]["code"] == "overloaded"
        assert c.post("/embed", json={"texts": ["a"]}).status_code == 200


def test_openai_embeddings_float_and_base64_agree(client):
    f = client.post("/v1/embeddings", json={"input": TEXTS, "model": "tiny"}).json()
    b = client.post(
        "/v1/embeddings", json={"input": TEXTS, "model": "tiny", "encoding_format": "base64"}
    ).json()
    assert f["object"] == "list" and [d["index"] for d in f["data"]] == [0, 1, 2]
    assert f["usage"]["prompt_tokens"] == f["usage"]["total_tokens"] > 0
    for df, db in zip(f["data"], b["data"], strict=True):
        decoded = np.frombuffer(base64.b64decode(db["embedding"]), dtype="<f4")
        np.testing.assert_allclose(decoded, np.asarray(df["embedding"], dtype=np.float32), atol=0)


def test_openai_single_string_and_dimensions(client):
    full = client.post("/v1/embeddings", json={"input": "hello world", "model": "tiny"}).json()
    cut = client.post(
        "/v1/embeddings", json={"input": "hello world", "model": "tiny", "dimensions": 8}
    ).json()
    v = np.asarray(full["data"][0]["embedding"])
    c = np.asarray(cut["data"][0]["embedding"])
    assert c.shape == (8,)
    np.testing.assert_allclose(c, v[:8] / np.linalg.norm(v[:8]), atol=1e-5)


def test_openai_errors_keep_openai_shape(client):
    r = client.post("/v1/embeddings", json={"input": "x", "model": "tiny", "dimensions": 100000})
    assert r.status_code == 400
    err = r.json()["error"]
    assert set(err) == {"message", "type", "param", "code"} and err["param"] == "dimensions"
    r = client.post("/v1/embeddings", json={"input": "x"})
    assert r.status_code == 422 and r.json()["error"]["type"] == "invalid_request_error"
    r = client.post("/v1/embeddings", json={"input": "x", "model": "gpt-nope"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "model_not_found"
