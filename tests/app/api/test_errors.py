"""The one error contract, status by status, through the real app on a tiny real model."""

from __future__ import annotations

import json
import time

import pytest
from fastapi.testclient import TestClient

from app.api.app import begin_drain, create_app
from tests.app.api.conftest import tiny_settings
from tests.hardening.helpers import contract_problem


def _assert_contract(r, path: str) -> dict:
    body = r.json()
    problem = contract_problem(path, r.status_code, r.headers, body)
    assert problem is None, problem
    return body["error"]


def test_unknown_route_is_404_json(client):
    r = client.get("/nope/../etc/passwd")
    assert r.status_code == 404
    assert _assert_contract(r, "/nope")["code"] == "not_found"


def test_wrong_method_is_405_json_with_allow(client):
    r = client.delete("/embed")
    assert r.status_code == 405
    assert _assert_contract(r, "/embed")["code"] == "method_not_allowed"
    assert r.headers["allow"] == "POST"


def test_405_allow_lists_every_method_served_on_the_path(tiny_models_dir, tmp_path):
    settings = tiny_settings(tiny_models_dir, collections={"data_dir": tmp_path / "c"})
    with TestClient(create_app(settings)) as c:
        r = c.patch("/collections/some-name")
        assert r.status_code == 405
        assert _assert_contract(r, "/collections/some-name")["code"] == "method_not_allowed"
        assert r.headers["allow"] == "DELETE, GET, PUT"  # three routes share the path


def test_body_over_limit_is_413_json_by_length_and_while_streaming(tiny_models_dir):
    settings = tiny_settings(tiny_models_dir, limits={"max_body_bytes": 2048})
    with TestClient(create_app(settings)) as c:
        big = json.dumps({"texts": ["x" * 4000]}).encode()
        r = c.post("/embed", content=big, headers={"content-type": "application/json"})
        assert r.status_code == 413
        assert _assert_contract(r, "/embed")["code"] == "payload_too_large"

        def chunks():  # no Content-Length: the limit is enforced while reading
            for _ in range(8):
                yield b" " * 512

        r = c.post("/embed", content=chunks(), headers={"content-type": "application/json"})
        assert r.status_code == 413 and "content-length" not in r.request.headers
        assert _assert_contract(r, "/embed")["code"] == "payload_too_large"
        # /v1 keeps OpenAI's shape for the same failure
        r = c.post("/v1/embeddings", content=big, headers={"content-type": "application/json"})
        assert r.status_code == 413
        assert _assert_contract(r, "/v1/embeddings")["type"] == "invalid_request_error"


@pytest.mark.parametrize(
    ("raw", "code", "param"),
    [
        (b'{"texts": ["a"', "invalid_json", None),
        (b'{"texts": ["caf\xe9"]}', "invalid_json", None),  # latin-1 byte: not UTF-8
        (b'{"texts": ["a"], "normalize": NaN}', "invalid_json", None),
        (b'{"texts": ["a"], "x": -Infinity}', "invalid_json", None),
        (b'{"texts": ["ok", "bad \\ud800 text"]}', "invalid_json", "texts[1]"),
        (b'{"texts": ["\\udc00"]}', "invalid_json", "texts[0]"),
        (b"[" * 100_000 + b"]" * 100_000, None, None),
        (b"", "invalid_input", None),
        (b"[]", "invalid_input", None),
        (b'"just a string"', "invalid_input", None),
    ],
)
def test_malformed_bodies_are_400(client, raw, code, param):
    r = client.post("/embed", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 400, r.text
    err = _assert_contract(r, "/embed")
    if code is not None:
        assert err["code"] == code
    assert err.get("param") == param


def test_a_valid_surrogate_pair_is_accepted(client):
    raw = json.dumps({"texts": ["smile \U0001f600 中文"]}).encode()  # ensure_ascii: \ud83d\ude00
    assert b"\\ud83d\\ude00" in raw
    r = client.post("/embed", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 200, r.text


def test_validation_422_names_the_field_in_both_shapes(client):
    r = client.post("/embed", json={"texts": ["a"], "normalize": "yes"})
    assert r.status_code == 422
    err = _assert_contract(r, "/embed")
    assert err["param"] == "normalize" and "normalize" in err["message"]
    r = client.post("/v1/embeddings", json={"input": "a", "model": "tiny", "dimensions": 0})
    assert r.status_code == 422
    err = _assert_contract(r, "/v1/embeddings")
    assert err["param"] == "dimensions" and err["type"] == "invalid_request_error"


def test_unexpected_error_is_500_without_internals(tiny_models_dir):
    app = create_app(tiny_settings(tiny_models_dir))

    async def boom() -> None:
        raise RuntimeError('secret at File "/work/app/x.py", line 3')

    app.add_api_route("/boom", boom)
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/boom")
        assert r.status_code == 500
        err = _assert_contract(r, "/boom")
        assert err == {"code": "internal_error", "message": "internal server error"}
        assert "secret" not in r.text


def test_deadline_is_504_and_frees_the_queued_work(tiny_models_dir):
    settings = tiny_settings(
        tiny_models_dir,
        lifecycle={"request_deadline_s": 0.3},
        batcher={"max_wait_ms": 3000, "max_batch_size": 1000, "max_batch_tokens": 100_000},
    )
    with TestClient(create_app(settings)) as c:
        before = c.get("/metrics").text
        r = c.post("/embed", json={"texts": ["waits in the queue"]})
        assert r.status_code == 504
        assert _assert_contract(r, "/embed")["code"] == "deadline_exceeded"
        r = c.post("/v1/embeddings", json={"input": "x", "model": "tiny"})
        assert r.status_code == 504 and _assert_contract(r, "/v1/embeddings")["type"]
        time.sleep(3.3)  # past the batcher's wait: the cancelled texts must have been skipped
        after = c.get("/metrics").text
        assert _count(before, 'simserve_batch_size_count{model="tiny"}') == _count(
            after, 'simserve_batch_size_count{model="tiny"}'
        )
        assert _count(after, "simserve_deadlines_exceeded_total") == 2


def _count(metrics_text: str, name: str) -> float:
    for line in metrics_text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return 0.0


def test_draining_answers_503_with_retry_after_and_probes_still_answer(tiny_models_dir):
    settings = tiny_settings(tiny_models_dir, lifecycle={"retry_after_s": 7})
    with TestClient(create_app(settings)) as c:
        assert c.get("/health/ready").status_code == 200
        begin_drain(c.app)
        r = c.get("/health/ready")
        assert r.status_code == 503 and r.headers["retry-after"] == "7"
        assert _assert_contract(r, "/health/ready")["code"] == "not_ready"
        r = c.post("/embed", json={"texts": ["a"]})
        assert r.status_code == 503 and "draining" in _assert_contract(r, "/embed")["message"]
        assert r.headers["retry-after"] == "7"
        r = c.post("/v1/embeddings", json={"input": "a", "model": "tiny"})
        assert r.status_code == 503 and _assert_contract(r, "/v1/embeddings")["type"]
        assert c.get("/health/live").status_code == 200
        assert c.get("/metrics").status_code == 200


def test_openapi_documents_the_error_contract(client):
    spec = client.get("/openapi.json").json()
    embed = spec["paths"]["/embed"]["post"]["responses"]
    for status in ("400", "404", "408", "413", "422", "429", "431", "500", "503", "504"):
        assert embed[status]["content"]["application/json"]["schema"]["$ref"].endswith("/Error")
    assert "Retry-After" in embed["429"]["headers"] and "Retry-After" in embed["503"]["headers"]
    v1 = spec["paths"]["/v1/embeddings"]["post"]["responses"]["422"]
    assert v1["content"]["application/json"]["schema"]["$ref"].endswith("/OpenAIError")
    assert "401" not in embed  # auth is off
    assert "HTTPValidationError" not in spec["components"]["schemas"]
