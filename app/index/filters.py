"""Payload filters: top-level key equality, `must` (all equal) and `must_not` (none equal)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

_MISSING = object()


@dataclass(frozen=True)
class PayloadFilter:
    must: Mapping[str, Any] = field(default_factory=dict)
    must_not: Mapping[str, Any] = field(default_factory=dict)

    @property
    def is_empty(self) -> bool:
        return not self.must and not self.must_not

    def operator_problem(self) -> tuple[str, str] | None:
        """`(message, param)` when a value looks like a query operator (`{"$gt": 1}`), else None.

        Values match by equality only; taken literally, an operator would silently match
        nothing, so it is refused instead.
        """
        for part, clauses in (("must", self.must), ("must_not", self.must_not)):
            for key, value in clauses.items():
                if isinstance(value, Mapping) and any(str(k).startswith("$") for k in value):
                    ops = sorted(str(k) for k in value if str(k).startswith("$"))
                    return (
                        f"filter.{part}.{key}: operators such as {ops} are not supported; "
                        "filter values match by JSON equality",
                        f"filter.{part}.{key}",
                    )
        return None

    def matches(self, payload: Mapping[str, Any]) -> bool:
        """True when every `must` key equals and no `must_not` key equals the payload's value.

        Equality is JSON equality (1 == 1.0, but "1" != 1); a missing key never equals.
        """
        for key, value in self.must.items():
            got = payload.get(key, _MISSING)
            if got is _MISSING or not _json_equal(got, value):
                return False
        for key, value in self.must_not.items():
            got = payload.get(key, _MISSING)
            if got is not _MISSING and _json_equal(got, value):
                return False
        return True


def _json_equal(a: Any, b: Any) -> bool:
    # Python treats True == 1; JSON does not.
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a is b
    return a == b
