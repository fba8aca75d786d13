"""The one place that maps failures to HTTP: status + `{"error": {"code", "message", "param"?}}`.

Routes under /v1 (OpenAI-compatible) get OpenAI's shape instead:
`{"error": {"message", "type", "param", "code"}}`.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse
from starlette.routing import Match

from app import errors as e
from app.api.schemas.common import INVALID_INPUT

log = logging.getLogger(__name__)

STATUS_BY_ERROR: dict[type[e.SimserveError], int] = {
    e.InvalidInput: 400,
    e.Unauthorized: 401,
    e.Forbidden: 403,
    e.NotFound: 404,
    e.Conflict: 409,
    e.PayloadTooLarge: 413,
    e.ValidationFailed: 422,
    e.Overloaded: 429,
    e.InferenceFailed: 500,
    e.NotReady: 503,
    e.Unavailable: 503,
    e.DeadlineExceeded: 504,
}

OPENAI_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "invalid_request_error",
    405: "invalid_request_error",
    408: "invalid_request_error",
    409: "invalid_request_error",
    413: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
    431: "invalid_request_error",
    500: "server_error",
    503: "server_error",
    504: "server_error",
}


def status_for(error: e.SimserveError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 500


def error_body(
    path: str, status: int, code: str, message: str, param: str | None = None
) -> dict[str, dict[str, str | None]]:
    """`{"error": {...}}` for a request to `path`: OpenAI's shape under /v1/, else ours."""
    if path.startswith("/v1/"):
        return {
            "error": {
                "message": message,
                "type": OPENAI_TYPES.get(status, "server_error"),
                "param": param,
                "code": code,
            }
        }
    body: dict[str, dict[str, str | None]] = {"error": {"code": code, "message": message}}
    if param is not None:
        body["error"]["param"] = param
    return body


def error_response(
    request: Request | str | None,
    status: int,
    code: str,
    message: str,
    param: str | None = None,
    retry_after: float | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """The error body for `status`; `request` (or its path) picks OpenAI's shape under /v1/.

    429 and 503 always carry Retry-After: `retry_after` rounded to whole seconds (at
    least 1; 1 when not given, but every caller in the app passes
    `lifecycle.retry_after_s` or an estimate); 401 carries WWW-Authenticate.
    """
    if isinstance(request, str):
        path = request
    else:
        path = request.url.path if request is not None else ""
    body = error_body(path, status, code, message, param)
    out = dict(headers or {})
    if retry_after is not None or status in (429, 503):
        out["Retry-After"] = str(max(1, round(retry_after if retry_after is not None else 1)))
    if status == 401:
        out.setdefault("WWW-Authenticate", "Bearer")
    return JSONResponse(body, status_code=status, headers=out or None)


# pydantic puts the union member tried into `loc` (`("input", "str")`, `("x", "list[str]")`)
_TYPE_TAGS = frozenset({"str", "int", "float", "bool", "bytes", "list", "dict", "none", "tuple"})


def _is_type_tag(part: str) -> bool:
    return part in _TYPE_TAGS or "[" in part


def _loc_to_param(loc: tuple) -> str | None:
    parts = [
        str(p)
        for p in loc
        if p not in ("body", "query", "path") and not (isinstance(p, str) and _is_type_tag(p))
    ]
    if not parts:
        return None
    out = parts[0]
    for p in parts[1:]:
        out += f"[{p}]" if p.isdigit() else f".{p}"
    return out


def _domain_handler(retry_after_s: float):
    async def _domain(request: Request, exc: e.SimserveError) -> JSONResponse:
        status = status_for(exc)
        if status >= 500 and not isinstance(exc, e.NotReady | e.Unavailable | e.DeadlineExceeded):
            log.error("%s on %s: %s", exc.code, request.url.path, exc.message)
        retry_after = exc.retry_after
        if retry_after is None and status in (429, 503):
            retry_after = retry_after_s
        return error_response(request, status, exc.code, exc.message, exc.param, retry_after)

    return _domain


async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    errs = exc.errors()
    first = errs[0] if errs else {}
    if first.get("type") == INVALID_INPUT:  # a schema's cross-field rule (schemas/common.py)
        param = (first.get("ctx") or {}).get("param")
        return error_response(request, 400, "invalid_input", first.get("msg", ""), param)
    if first.get("type") == "json_invalid":
        return error_response(request, 400, "invalid_json", "request body is not valid JSON")
    if first.get("type") == "missing" and tuple(first.get("loc", ())) == ("body",):
        return error_response(request, 400, "invalid_input", "request body is required")
    if tuple(first.get("loc", ())) == ("body",):
        return error_response(
            request,
            400,
            "invalid_input",
            "request body must be a JSON object (send Content-Type: application/json)",
        )
    param = _loc_to_param(tuple(first.get("loc", ())))
    message = first.get("msg", "invalid request")
    if param:
        message = f"{param}: {message}"
    return error_response(request, 422, "validation_error", message, param)


HTTP_CODES = {
    400: "invalid_input",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    code = HTTP_CODES.get(exc.status_code, "http_error")
    detail = exc.detail if isinstance(exc.detail, str) else "request failed"
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"no route {request.method} {request.url.path}"
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        detail = f"method {request.method} is not allowed on {request.url.path}"
        headers["Allow"] = _allowed_methods(request) or headers.get("Allow", "")
    if exc.status_code >= 500:  # never echo internals
        log.error("HTTP %d on %s: %s", exc.status_code, request.url.path, detail)
        detail = "internal server error"
    return error_response(request, exc.status_code, code, detail, headers=headers or None)


ALLOW_CANDIDATES = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def _allowed_methods(request: Request) -> str:
    """Every method served on this path (Starlette names only the first matching route's)."""
    allowed = [
        method
        for method in ALLOW_CANDIDATES
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL
            for route in request.app.router.routes
        )
    ]
    return ", ".join(allowed)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(request, 500, "internal_error", "internal server error")


def install_error_handlers(app: FastAPI, retry_after_s: float = 1) -> None:
    """`retry_after_s` (lifecycle.retry_after_s): Retry-After of a 429/503 whose error
    names no better estimate."""
    app.add_exception_handler(e.SimserveError, _domain_handler(retry_after_s))
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(Exception, _unexpected)
