"""Per-field text checks shared by the retrieval services (param names point at the field)."""

from __future__ import annotations

from app.errors import InvalidInput, PayloadTooLarge
from app.settings import LimitsSettings


def check_text(text: str, param: str, limits: LimitsSettings) -> None:
    if not text.strip():
        raise InvalidInput(f"{param} is empty", param=param)
    if len(text) > limits.max_chars:
        raise PayloadTooLarge(
            f"{param} has {len(text)} characters; at most {limits.max_chars}", param=param
        )


def check_count(n: int, limit: int, param: str) -> None:
    if n == 0:
        raise InvalidInput(f"{param} must not be empty", param=param)
    if n > limit:
        raise PayloadTooLarge(f"{n} {param} given; at most {limit} per request", param=param)
