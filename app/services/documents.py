"""Checks on document input that SQLite and the response encoder would otherwise get wrong.

- Payload depth is bounded at write time: the response encoder refuses objects nested past
  its own limit (pydantic: 255 levels, counted from the response root), so a deeper payload
  would be stored and then make every read and search that returns it fail.
- Payload numbers must be finite: `1e400` parses to `inf`, which JSON cannot carry back
  (stored as `Infinity`, read back as `null`).
- Given vectors are checked and normalised in float64: a value like 1e39 is finite as
  JSON but overflows float32, and 1e20 overflows a float32 norm (the row would become zeros).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np


def payload_problem(payload: Any, max_depth: int) -> str | None:
    """Why `payload` cannot be stored, or None. The payload object itself is depth 1.

    Iterative, so a deep payload costs no recursion.
    """
    stack: list[tuple[Any, int]] = [(payload, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            if isinstance(node, float) and not math.isfinite(node):
                return "holds a number that is not finite (out of the float64 range)"
            continue
        if depth > max_depth:
            return f"is nested deeper than {max_depth} levels"
        stack.extend((child, depth + 1) for child in children)
    return None


def vector_problem(values: Sequence[float], dimension: int) -> str | None:
    """Why a given document vector cannot be stored, or None (checked in float64)."""
    if len(values) != dimension:
        return f"has {len(values)} dimensions; the collection has {dimension}"
    v = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(v)):
        return "holds a value that is not finite"
    if not np.any(v):
        return "is all zeros (it has no direction to compare)"
    return None


def unit_rows(rows: Sequence[Sequence[float]]) -> np.ndarray:
    """(n, d) float32 unit vectors from n finite, non-zero float64 rows.

    Each row is scaled by its largest magnitude before the L2 norm, so neither 1e300
    (overflow) nor 1e-300 (underflow) loses its direction.
    """
    v = np.asarray(rows, dtype=np.float64)
    if v.ndim != 2:
        raise ValueError(f"rows must be 2-d (n, d), got shape {v.shape}")
    scaled = v / np.max(np.abs(v), axis=1, keepdims=True)
    return (scaled / np.linalg.norm(scaled, axis=1, keepdims=True)).astype(np.float32)
