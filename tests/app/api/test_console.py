"""GET /console and its files (no browser: headers, size, no other host) and GET /auth/key.

The console in a real browser: tests/app/api/test_console_browser.py.
"""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from app.api.app import create_app
from app.api.routes.console import CSP, STATIC_DIR
from tests.app.api.conftest import tiny_settings

RW, RO = "rw-key-0123456789abcdef", "ro-key-0123456789abcdef"
SVG_NS = "http://www.w3.org/2000/svg"


def test_console_page_and_files_carry_a_strict_policy(client):
    r = client.get("/console")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert r.headers["content-security-policy"] == CSP
    assert CSP.startswith("default-src 'self';") and "unsafe" not in CSP
    assert r.headers["x-content-type-options"] == "nosniff"
    for name in re.findall(r'(?:src|href)="console/static/([^"]+)"', r.text):
        asset = client.get(f"/console/static/{name}")
        assert asset.status_code == 200, name
        assert asset.headers["content-security-policy"] == CSP
    modules = re.findall(
        r'from "\./([^"]+)"', "".join(p.read_text() for p in STATIC_DIR.glob("*.js"))
    )
    assert modules and all((STATIC_DIR / m).is_file() for m in modules)


def test_console_is_small_and_names_no_other_host():
    files = sorted(p for p in STATIC_DIR.iterdir() if p.is_file())
    assert {p.name for p in files} >= {"index.html", "console.css", "main.js", "api.js"}
    assert sum(p.stat().st_size for p in files) < 150 * 1024
    for p in files:
        urls = set(re.findall(r"https?://[^\s\"'`)]+", p.read_text()))
        assert urls <= {SVG_NS}, (p.name, urls)


def test_console_needs_no_key_but_its_api_calls_do(tiny_models_dir):
    settings = tiny_settings(tiny_models_dir, auth={"keys": [RW], "read_only_keys": [RO]})
    with TestClient(create_app(settings)) as c:
        assert c.get("/console").status_code == 200
        assert c.get("/console/static/main.js").status_code == 200
        r = c.get("/console/", follow_redirects=False)
        assert r.status_code == 307 and r.headers["location"].endswith("/console")
        assert c.get("/models").status_code == 401


@pytest.mark.parametrize(
    ("header", "want"),
    [
        (None, {"auth": True, "presented": False, "scope": None}),
        ("Bearer nope-not-a-key-at-all", {"auth": True, "presented": True, "scope": None}),
        (f"Basic {RW}", {"auth": True, "presented": True, "scope": None}),
        (f"Bearer {RW}", {"auth": True, "presented": True, "scope": "rw"}),
        (f"Bearer {RO}", {"auth": True, "presented": True, "scope": "ro"}),
    ],
)
def test_auth_key_says_what_the_key_may_do(tiny_models_dir, header, want):
    settings = tiny_settings(tiny_models_dir, auth={"keys": [RW], "read_only_keys": [RO]})
    with TestClient(create_app(settings)) as c:
        r = c.get("/auth/key", headers={"Authorization": header} if header else {})
    assert r.status_code == 200, r.text
    assert r.json() == want


def test_auth_key_without_auth(client):
    assert client.get("/auth/key").json() == {"auth": False, "presented": False, "scope": "rw"}
