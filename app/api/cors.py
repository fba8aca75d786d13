"""CORS with rejected preflights answered in the error contract (Starlette's are plain text)."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response

from app.api.errors import error_response


class JSONCORSMiddleware(CORSMiddleware):
    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code < 400:
            return response
        headers = {
            k: v
            for k, v in response.headers.items()
            if k.lower() not in ("content-length", "content-type")
        }
        message = bytes(response.body).decode("utf-8", "replace")  # e.g. "Disallowed CORS origin"
        return error_response("", 400, "cors_rejected", message, headers=headers)
