"""One way to turn a user-supplied string into a mode enum, for every layer.

Modes are `StrEnum`s (members compare and serialise as their values). `parse_enum`
rejects an unknown value early, with a message that lists the valid ones.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Any, TypeVar

E = TypeVar("E", bound=StrEnum)


def parse_enum(
    cls: type[E],
    value: Any,
    what: str,
    *,
    verb: str = "unknown",
    error: Callable[[str], Exception] = ValueError,
) -> E:
    """`cls(value)`, else `error("unknown <what> 'x'; valid: a, b, c")` (ValueError by
    default; a service passes a domain error that names the request field)."""
    try:
        return cls(value)
    except ValueError:
        valid = ", ".join(m.value for m in cls)
        raise error(f"{verb} {what} {value!r}; valid: {valid}") from None
