"""Payload filters as Milvus boolean expressions on the JSON `payload` field.

Mapping (JSON equality, the same as `PayloadFilter.matches`):

- `must: {k: v}`      -> `payload["k"] == v`
- `must_not: {k: v}`  -> `not (payload["k"] == v)` (a missing key never equals, so it passes)
- clauses are joined with `and`; an empty filter is no expression.

Values pushed down: strings, booleans (`true`/`false`, never equal to 1/0), int64 integers
and finite floats (1 == 1.0, as in JSON). Everything else - null, lists, objects, integers
beyond int64, strings or keys with control characters other than tab/newline/CR - cannot be
written exactly in a Milvus 2.3 expression, so those clauses stay in a residual
`PayloadFilter` that the caller applies in Python to what Milvus returns.

Quoting is injection-safe: a key or string value is written as a double-quoted literal in
which only `\\`, `"`, tab, newline and CR are escaped; no other character can end the literal,
and anything that would need another escape is left to the residual instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from app.index.filters import PayloadFilter

PAYLOAD_FIELD = "payload"
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\t": "\\t", "\n": "\\n", "\r": "\\r"}
_INT64 = (-(2**63), 2**63 - 1)


class MilvusFilter(NamedTuple):
    expression: str  # "" when nothing is pushed down
    residual: PayloadFilter | None  # clauses Milvus cannot express, applied after the search


def quote(text: str) -> str | None:
    """`text` as a Milvus string literal, or None when it holds a character we do not quote."""
    if any((ord(c) < 0x20 and c not in _ESCAPES) or ord(c) == 0x7F for c in text):
        return None
    return '"' + "".join(_ESCAPES.get(c, c) for c in text) + '"'


def literal(value: Any) -> str | None:
    """A JSON scalar as a Milvus literal, or None when it cannot be pushed down exactly."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value) if _INT64[0] <= value <= _INT64[1] else None
    if isinstance(value, float):
        return repr(value) if value == value and abs(value) != float("inf") else None
    if isinstance(value, str):
        return quote(value)
    return None  # null, list, object


def clause(key: str, value: Any, field: str = PAYLOAD_FIELD) -> str | None:
    """`field["key"] == value`, or None when it cannot be written exactly."""
    k, v = quote(str(key)), literal(value)
    return None if k is None or v is None else f"{field}[{k}] == {v}"


def to_milvus(flt: PayloadFilter | None, field: str = PAYLOAD_FIELD) -> MilvusFilter:
    """Split a filter into a Milvus expression and the residual applied in Python."""
    if flt is None or flt.is_empty:
        return MilvusFilter("", None)
    parts: list[str] = []
    must: dict[str, Any] = {}
    must_not: dict[str, Any] = {}
    for clauses, negate, rest in ((flt.must, False, must), (flt.must_not, True, must_not)):
        for key, value in clauses.items():
            expr = clause(key, value, field)
            if expr is None:
                rest[key] = value
            else:
                parts.append(f"not ({expr})" if negate else f"({expr})")
    residual = PayloadFilter(must, must_not) if must or must_not else None
    return MilvusFilter(" and ".join(parts), residual)


def and_(*expressions: str) -> str:
    """Join non-empty expressions with `and` (each parenthesised)."""
    kept = [e for e in expressions if e]
    return " and ".join(f"({e})" for e in kept) if len(kept) > 1 else "".join(kept)


def in_list(field: str, values: Mapping[Any, Any] | list) -> str:
    """`field in [...]` for strings (quoted) or ints; strings that cannot be quoted are skipped
    (ids are checked at the API: a document id never holds such a character)."""
    items = []
    for v in values:
        lit = str(int(v)) if isinstance(v, int) and not isinstance(v, bool) else quote(str(v))
        if lit is not None:
            items.append(lit)
    return f"{field} in [{', '.join(items)}]"
