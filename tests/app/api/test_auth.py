"""API keys: parsing, scopes, 401/403 in the contract, public probes, CORS, write routes."""

from __future__ import annotations

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from app.api.app import create_app
from app.api.auth import WRITE_METHODS, KeyRing, KeyScope, WriteAccess, parse_key_file
from app.settings import AuthSettings
from tests.app.api.conftest import tiny_settings
from tests.hardening.helpers import RO_KEY, RW_KEY, contract_problem

# POST routes that only read. Any other POST route must declare `dependencies=[WriteAccess]`;
# this list makes adding a POST route a conscious read/write decision.
READ_ONLY_POSTS = {"/embed", "/v1/embeddings", "/search", "/similarity", "/paraphrase", "/match"}


def test_parse_key_file_scopes_comments_and_errors():
    text = f"# keys\n{RW_KEY}\n\n{RO_KEY} ro   # reader\nkey-three-0123456789 rw\n"
    assert parse_key_file(text) == [
        (RW_KEY, KeyScope.READ_WRITE),
        (RO_KEY, KeyScope.READ_ONLY),
        ("key-three-0123456789", KeyScope.READ_WRITE),
    ]
    with pytest.raises(ValueError, match="line 1.*'admin'"):
        parse_key_file(f"{RW_KEY} admin")
    with pytest.raises(ValueError, match="line 2"):
        parse_key_file(f"{RW_KEY}\n{RO_KEY} ro extra")


def test_keyring_scopes_and_rejections(tmp_path):
    key_file = tmp_path / "keys.txt"
    key_file.write_text("file-key-0123456789abc ro\n")
    ring = KeyRing.from_settings(
        AuthSettings(keys=[RW_KEY], read_only_keys=[RO_KEY], key_file=key_file)
    )
    assert ring.enabled and len(ring.entries) == 3
    assert ring.scope_of(RW_KEY) is KeyScope.READ_WRITE
    assert ring.scope_of(RO_KEY) is KeyScope.READ_ONLY
    assert ring.scope_of("file-key-0123456789abc") is KeyScope.READ_ONLY
    for wrong in ("", RW_KEY[:-1], RW_KEY + "x", RW_KEY.upper(), "\ud800"):
        assert ring.scope_of(wrong) is None
    assert not KeyRing.from_settings(AuthSettings()).enabled
    with pytest.raises(ValueError, match="16 characters"):
        KeyRing.from_settings(AuthSettings(keys=["short"]))


def _secured_app(models_dir, **auth) -> FastAPI:
    auth = {"keys": [RW_KEY], "read_only_keys": [RO_KEY], **auth}
    app = create_app(tiny_settings(models_dir, auth=auth))
    # stand-in write routes (collections add real ones): PUT is a write by method,
    # a POST is one when it says so, another POST is a read
    router = APIRouter()

    async def ok() -> dict:
        return {"ok": True}

    async def gone() -> dict:
        return {"ok": True}

    router.add_api_route("/things/{name}", ok, methods=["PUT"])
    router.add_api_route("/things/{name}", gone, methods=["DELETE"])
    router.add_api_route("/things/{name}/docs", ok, methods=["POST"], dependencies=[WriteAccess])
    router.add_api_route("/things/{name}/query", ok, methods=["POST"])
    app.include_router(router)
    return app


def _bearer(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


def _assert_error(r, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    assert contract_problem(r.request.url.path, status, r.headers, r.json()) is None
    assert r.json()["error"]["code"] == code


def test_missing_or_wrong_key_is_401_in_both_shapes(tiny_models_dir):
    with TestClient(_secured_app(tiny_models_dir)) as c:
        for headers in ({}, _bearer("not-a-valid-key-000000"), {"Authorization": RW_KEY},
                        {"Authorization": f"Basic {RW_KEY}"}, {"Authorization": "Bearer "}):  # fmt: skip
            r = c.post("/embed", json={"texts": ["a"]}, headers=headers)
            _assert_error(r, 401, "unauthorized")
            assert r.headers["www-authenticate"] == "Bearer"
        r = c.post("/v1/embeddings", json={"input": "a", "model": "tiny"})
        assert r.status_code == 401 and r.json()["error"]["type"] == "authentication_error"
        assert c.get("/models", params={"api_key": RW_KEY}).status_code == 401  # header only


def test_read_only_key_reads_but_cannot_write(tiny_models_dir):
    with TestClient(_secured_app(tiny_models_dir)) as c:
        for key in (RW_KEY, RO_KEY):
            assert c.post("/embed", json={"texts": ["a"]}, headers=_bearer(key)).status_code == 200
            assert c.get("/models", headers=_bearer(key)).status_code == 200
            assert c.post("/things/x/query", headers=_bearer(key)).status_code == 200
        for method, path in (("PUT", "/things/x"), ("DELETE", "/things/x"),
                             ("POST", "/things/x/docs")):  # fmt: skip
            assert c.request(method, path, headers=_bearer(RW_KEY)).status_code == 200
            _assert_error(c.request(method, path, headers=_bearer(RO_KEY)), 403, "forbidden")
            _assert_error(c.request(method, path), 401, "unauthorized")


def test_probes_public_by_default_and_protectable(tiny_models_dir):
    with TestClient(_secured_app(tiny_models_dir)) as c:
        assert c.get("/health/live").status_code == 200
        assert c.get("/health/ready").status_code == 200
        assert c.get("/metrics").status_code == 200
    app = _secured_app(tiny_models_dir, public_health=False, public_metrics=False)
    with TestClient(app) as c:
        for path in ("/health/live", "/health/ready", "/metrics"):
            _assert_error(c.get(path), 401, "unauthorized")
            assert c.get(path, headers=_bearer(RO_KEY)).status_code == 200


def test_openapi_declares_bearer_only_where_it_applies(tiny_models_dir):
    with TestClient(_secured_app(tiny_models_dir)) as c:
        paths = c.get("/openapi.json").json()["paths"]
    assert paths["/embed"]["post"]["security"] and "401" in paths["/embed"]["post"]["responses"]
    assert "security" not in paths["/health/ready"]["get"]
    assert "401" not in paths["/metrics"]["get"]["responses"]


def test_cors_off_by_default_and_on_for_listed_origins(tiny_models_dir):
    preflight = {
        "Origin": "https://app.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    }
    with TestClient(_secured_app(tiny_models_dir)) as c:
        r = c.options("/embed", headers=preflight)
        assert "access-control-allow-origin" not in r.headers
    app = _secured_app(tiny_models_dir, cors_origins=["https://app.example"])
    with TestClient(app) as c:
        r = c.options("/embed", headers=preflight)
        assert r.status_code == 200
        assert r.headers["access-control-allow-origin"] == "https://app.example"
        r = c.options("/embed", headers={**preflight, "Origin": "https://evil.example"})
        assert r.headers.get("access-control-allow-origin") != "https://evil.example"


def test_every_served_route_decides_read_or_write(tiny_models_dir):
    app = create_app(tiny_settings(tiny_models_dir, auth={"keys": [RW_KEY]}))
    posts = 0
    for context in iter_route_contexts(app.routes):  # flattens included routers
        route = context.original_route
        if not isinstance(route, APIRoute) or route.methods & WRITE_METHODS:
            continue  # not an API route, or a write by its method
        declared = any(d is WriteAccess for d in route.dependencies)
        if "POST" in route.methods:
            posts += 1
            assert declared or context.path in READ_ONLY_POSTS, (
                f"POST {context.path}: declare dependencies=[WriteAccess] or list it as a read"
            )
            assert not (declared and context.path in READ_ONLY_POSTS), context.path
    assert posts >= 2  # /embed and /v1/embeddings at least: the walk saw the routers


def test_unauthenticated_requests_get_401_before_the_body_is_read(tiny_models_dir):
    """Issue 12.12: no 413/400 (which would tell a stranger the body rules) before the 401."""
    with TestClient(_secured_app(tiny_models_dir)) as c:
        too_big = b'{"texts": ["' + b"a" * (9 * 1024 * 1024) + b'"]}'
        for body in (too_big, b'{"texts": ["a"', b'{"texts": NaN}'):
            for headers in ({}, _bearer("wrong-key-0123456789abc"), {"Authorization": "Basic x"}):
                r = c.post(
                    "/embed", content=body, headers={"content-type": "application/json", **headers}
                )
                _assert_error(r, 401, "unauthorized")
        json_ro = {"content-type": "application/json", **_bearer(RO_KEY)}
        r = c.post("/embed", content=b'{"texts": ["a"', headers=json_ro)
        _assert_error(r, 400, "invalid_json")  # with a key, the body rules apply


def test_rejected_cors_preflight_is_a_json_error(tiny_models_dir):
    """Issue 12.12: Starlette answers a disallowed preflight in plain text; ours is JSON."""
    app = _secured_app(tiny_models_dir, cors_origins=["https://app.example"])
    preflight = {"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    with TestClient(app) as c:
        r = c.options("/embed", headers=preflight)
    assert r.status_code == 400 and r.headers["content-type"] == "application/json"
    assert r.json()["error"]["code"] == "cors_rejected"
    assert contract_problem("/embed", 400, r.headers, r.json()) is None
