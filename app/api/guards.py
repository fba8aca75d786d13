"""Reject an encoded slash in a collection name before routing.

Starlette decodes `%2F` before matching, so `/collections/a%2F..%2Fb` would be routed as the
path `/collections/a/../b` and answer a confusing 404 "no route". The name is what is
wrong, so say so: 400 invalid_input, param name. Document ids (`.../documents/{id}`) are
left alone; they may contain slashes.
"""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Receive, Scope, Send

from app.api.errors import error_response

_ENCODED_SLASH_NAME = re.compile(rb"^/collections/[^/]*%2f", re.IGNORECASE)


class EncodedSlashGuard:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw = scope.get("raw_path") or b""
        if scope["type"] == "http" and _ENCODED_SLASH_NAME.match(raw):
            response = error_response(
                None,
                400,
                "invalid_input",
                "invalid collection name: '/' is not allowed (use letters, digits, '_' or '-')",
                "name",
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
