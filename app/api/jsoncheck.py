"""Strict-JSON screening of request bodies, before FastAPI parses them.

Python's `json` accepts `NaN`/`Infinity` (not JSON) and `\\ud800`-style lone surrogates
(valid JSON escapes, but not Unicode text: tokenizers and the response encoder would fail
on them). Both are rejected here with a 400, so no route has to think about them. The full
parse only happens when a cheap byte scan finds a suspect, so ordinary bodies cost one
UTF-8 check.
"""

from __future__ import annotations

import json
import re

_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_CONSTANTS = (b"NaN", b"Infinity")


class _Constant(ValueError):
    pass


def _reject_constant(name: str) -> float:
    raise _Constant(name)


def _lone_surrogate_path(value: object) -> str | None:
    """Path (e.g. `texts[2]`) of the first string or key holding a lone surrogate."""
    stack: list[tuple[str, object]] = [("", value)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, str):
            try:
                node.encode("utf-8")
            except UnicodeEncodeError:
                return path or "body"
        elif isinstance(node, dict):
            for key, child in node.items():
                try:
                    key.encode("utf-8")
                except UnicodeEncodeError:
                    return path or "body"
                stack.append((f"{path}.{key}" if path else key, child))
        elif isinstance(node, list):
            stack.extend((f"{path}[{i}]", child) for i, child in enumerate(node))
    return None


def json_body_problem(body: bytes) -> tuple[str, str | None] | None:
    """`(message, param)` when `body` is not strict UTF-8 JSON text, else None.

    Malformed JSON is left to FastAPI (it answers 400 `invalid_json` itself).
    """
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"request body is not valid UTF-8 (byte {exc.start})", None
    suspect_constant = any(c in body for c in _CONSTANTS)
    suspect_surrogate = _SURROGATE_ESCAPE.search(body) is not None
    if not (suspect_constant or suspect_surrogate):
        return None
    try:
        value = json.loads(body, parse_constant=_reject_constant)
    except _Constant as exc:
        return f"{exc} is not valid JSON (use a number or null)", None
    except (ValueError, RecursionError):
        return None  # malformed: FastAPI's parser reports it
    if suspect_surrogate:
        path = _lone_surrogate_path(value)
        if path is not None:
            return f"{path}: contains a lone UTF-16 surrogate (not valid Unicode text)", path
    return None
