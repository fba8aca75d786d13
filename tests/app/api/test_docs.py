"""/docs and /redoc from packaged files: every URL they name is on this server.

Rendered in headless Chromium with the network checked: test_console_browser.py.
"""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from app.api.app import create_app
from app.api.routes.docs import ASSETS_URL, CSP, REDOC_LOGO
from tests.app.api.conftest import tiny_settings

FOREIGN = re.compile(r"""(?:src|href)=["'](?:https?:)?//""")


def test_docs_pages_name_only_this_server(client):
    for path in ("/docs", "/redoc"):
        r = client.get(path)
        assert r.status_code == 200
        assert not FOREIGN.search(r.text), path
        assert not re.search(r"https?://", r.text), path
        assert r.headers["content-security-policy"] == CSP
        assert "default-src 'self'" in CSP
        for url in re.findall(r"""(?:src|href)=["']([^"']+)""", r.text):
            assert url.startswith(ASSETS_URL), url
            assert client.get(url).status_code == 200, url


def test_swagger_points_at_our_schema_without_a_validator_badge(client):
    html = client.get("/docs").text
    assert "url: '/openapi.json'" in html
    assert '"validatorUrl": null' in html
    assert "/similarity" in client.get("/openapi.json").json()["paths"]


def test_redoc_bundle_is_served_without_its_cdn_logo(client):
    r = client.get(f"{ASSETS_URL}/redoc.standalone.js")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/javascript")
    assert REDOC_LOGO[0] not in r.content and REDOC_LOGO[1] in r.content
    assert client.get(f"{ASSETS_URL}/swagger-ui-bundle.js").status_code == 200


def test_docs_stay_public_with_keys_on(tiny_models_dir):
    settings = tiny_settings(tiny_models_dir, auth={"keys": ["rw-key-0123456789abcdef"]})
    with TestClient(create_app(settings)) as c:
        for path in ("/docs", "/redoc", f"{ASSETS_URL}/swagger-ui.css", "/openapi.json"):
            assert c.get(path).status_code == 200, path
