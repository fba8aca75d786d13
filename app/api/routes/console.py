"""GET /console: a single-page console for the people who run the service.

Static files shipped in this package (`app/api/static/console`, no build step), served under
a Content-Security-Policy that lets the page talk to its own origin only. The console uses
the public HTTP API like any client, with the API key the user pastes (kept in the tab's
sessionStorage). The page and its files are public, like /docs: they hold no data, and every
API call they make is authenticated as usual.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.types import Scope

STATIC_DIR = Path(__file__).resolve().parents[1] / "static" / "console"
CSP = (
    "default-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; "
    "object-src 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


class _ConsoleFiles(StaticFiles):
    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers.update(SECURITY_HEADERS)
        return response


def install_console(app: FastAPI, url: str = "/console") -> None:
    """Serve the page at `url` and its files under `url`/static (public, CSP on both)."""
    index = STATIC_DIR / "index.html"
    if not index.is_file():
        raise RuntimeError(f"console files missing from {STATIC_DIR}")
    app.mount(f"{url}/static", _ConsoleFiles(directory=STATIC_DIR), name="console-static")

    async def page(request: Request) -> Response:
        return FileResponse(index, media_type="text/html", headers=SECURITY_HEADERS)

    app.add_route(url, page, include_in_schema=False)
