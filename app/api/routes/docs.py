"""/docs (Swagger UI) and /redoc served from files in an installed package: they work offline.

FastAPI's own pages load their script and styles from a CDN, so on a machine without
internet /docs is blank. The assets come from the `fastapi-offline` wheel (Swagger UI and
ReDoc bundles, MIT licence); its app factory is not used, only its static folder, so the
routes stay ours: public (added with `add_route`, outside the app-wide API-key dependency,
as FastAPI's own docs are) and pointing at no other host (no Google fonts, no validator
badge, a local favicon, ReDoc's menu logo served from here). A Content-Security-Policy on
both pages makes the browser refuse any other host all the same.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.staticfiles import StaticFiles
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

ASSETS_DIR = Path(fastapi_offline.__file__).parent / "static"
ASSETS_URL = "/docs-assets"
# merged into FastAPI's defaults; the validator badge would fetch an image from its host
SWAGGER_PARAMETERS = {"validatorUrl": None}
# ReDoc's side menu always shows this image; relative, it resolves to our favicon
REDOC_LOGO = (b"https://cdn.redoc.ly/redoc/logo-mini.svg", b"docs-assets/favicon.png")
# both pages run one inline script (FastAPI's templates) and Swagger UI sets inline styles
CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; worker-src 'self' blob:; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'"
)


def install_docs(app: FastAPI, docs_url: str = "/docs", redoc_url: str = "/redoc") -> None:
    """Serve Swagger UI at `docs_url` and ReDoc at `redoc_url` from `ASSETS_DIR`.

    Build the app with ``docs_url=None, redoc_url=None`` so FastAPI's CDN pages are off.
    """
    if not (ASSETS_DIR / "swagger-ui-bundle.js").is_file():
        raise RuntimeError(f"Swagger UI assets missing from {ASSETS_DIR}")
    redoc_js = (ASSETS_DIR / "redoc.standalone.js").read_bytes().replace(*REDOC_LOGO)

    async def redoc_bundle(request: Request) -> Response:
        return Response(redoc_js, media_type="text/javascript; charset=utf-8")

    app.add_route(f"{ASSETS_URL}/redoc.standalone.js", redoc_bundle, include_in_schema=False)
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS_DIR), name="docs-assets")
    redirect_url = f"{docs_url}/oauth2-redirect"

    def root(request: Request) -> str:
        return request.scope.get("root_path", "").rstrip("/")

    async def swagger(request: Request) -> HTMLResponse:
        base = root(request)
        return _with_csp(
            get_swagger_ui_html(
                openapi_url=f"{base}{app.openapi_url}",
                title=f"{app.title} - Swagger UI",
                swagger_js_url=f"{base}{ASSETS_URL}/swagger-ui-bundle.js",
                swagger_css_url=f"{base}{ASSETS_URL}/swagger-ui.css",
                swagger_favicon_url=f"{base}{ASSETS_URL}/favicon.png",
                oauth2_redirect_url=f"{base}{redirect_url}",
                swagger_ui_parameters=SWAGGER_PARAMETERS,
            )
        )

    async def redirect(request: Request) -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    async def redoc(request: Request) -> HTMLResponse:
        base = root(request)
        return _with_csp(
            get_redoc_html(
                openapi_url=f"{base}{app.openapi_url}",
                title=f"{app.title} - ReDoc",
                redoc_js_url=f"{base}{ASSETS_URL}/redoc.standalone.js",
                redoc_favicon_url=f"{base}{ASSETS_URL}/favicon.png",
                with_google_fonts=False,
            )
        )

    app.add_route(docs_url, swagger, include_in_schema=False)
    app.add_route(redirect_url, redirect, include_in_schema=False)
    app.add_route(redoc_url, redoc, include_in_schema=False)


def _with_csp(response: HTMLResponse) -> HTMLResponse:
    response.headers["Content-Security-Policy"] = CSP
    return response
