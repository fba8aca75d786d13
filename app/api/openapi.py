"""Put the error contract into the OpenAPI schema, for every operation at once.

Each operation documents the statuses the guard and the error mapping can produce, with
the error body schema (OpenAI's shape under /v1/), `Retry-After` on 429/503 and, when auth
is on, 401/403. FastAPI's default 422 (`{"detail": [...]}`) is replaced by ours, so the
schema tells clients the truth and schemathesis can hold the server to it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

ERROR_SCHEMA = {
    "title": "Error",
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "param": {"type": "string"},
            },
        }
    },
}

OPENAI_ERROR_SCHEMA = {
    "title": "OpenAIError",
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["message", "type", "param", "code"],
            "properties": {
                "message": {"type": "string"},
                "type": {"type": "string"},
                "param": {"type": ["string", "null"]},
                "code": {"type": ["string", "null"]},
            },
        }
    },
}

DESCRIPTIONS = {
    400: "Malformed or empty input",
    401: "Missing or invalid API key",
    403: "The API key may not do this (read-only key on a write)",
    404: "Unknown model, collection or document",
    408: "Request head or body not received in time (connection closed)",
    409: "Conflicts with existing state (e.g. a collection re-created differently)",
    413: "Body, text count or text length over the limit",
    422: "Validation failed; `param` names the field",
    429: "Overloaded; retry after `Retry-After` seconds",
    431: "Request line and headers over the limit (connection closed)",
    500: "Internal error (no internals in the message)",
    503: "Not ready or draining; retry after `Retry-After` seconds",
    504: "Deadline exceeded",
}
ALWAYS = (400, 404, 408, 409, 413, 422, 429, 431, 500, 503, 504)
RETRY_AFTER = {"Retry-After": {"description": "seconds to wait", "schema": {"type": "string"}}}
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "options", "head", "trace"}


def _response(status: int, ref: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "description": DESCRIPTIONS[status],
        "content": {"application/json": {"schema": {"$ref": ref}}},
    }
    if status in (429, 503):
        out["headers"] = RETRY_AFTER
    return out


def add_error_responses(schema: dict, protected: Callable[[str], bool]) -> dict:
    """Add the error responses to every operation of an OpenAPI `schema` (in place)."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Error"] = ERROR_SCHEMA
    components["OpenAIError"] = OPENAI_ERROR_SCHEMA
    for path, item in schema.get("paths", {}).items():
        ref = "#/components/schemas/" + ("OpenAIError" if path.startswith("/v1/") else "Error")
        statuses = ALWAYS + ((401, 403) if protected(path) else ())
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            if not protected(path):  # public probes: the app-wide bearer does not apply
                operation.pop("security", None)
            responses = operation.setdefault("responses", {})
            for status in statuses:
                responses[str(status)] = _response(status, ref)
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    return schema


def document_errors(app: FastAPI, protected: Callable[[str], bool]) -> None:
    """Make `app.openapi()` return the schema with the error contract added."""

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = add_error_responses(schema, protected)
        return app.openapi_schema

    app.openapi = openapi
