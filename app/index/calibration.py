"""Match-or-abstain calibration: a cosine threshold and P(match | cosine), fitted from pairs.

A collection's calibration says when its best hit answers the query. It is fitted from
labelled pairs (label 1: same meaning / same FAQ entry, 0: not) scored by the collection's
model, so it is valid for that model only: `model` and `fingerprint` (a hash of the model
folder's file hashes) travel with it, and a use under another model fails loudly.

- `threshold`: the cosine cut with the best accuracy on the fitting pairs (`score >= t`
  matches); among equally accurate cuts the middle one, so a gap between the classes is
  split in half rather than hugged.
- `probability`: logistic (Platt: `sigmoid(a * s + b)`, Newton with a tiny L2 term, so
  separable data stays finite) or isotonic (pool-adjacent-violators, interpolated
  linearly between block means, clipped to the fitted range).
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

import numpy as np

from app.enums import parse_enum

FORMAT_VERSION = 1
MIN_PAIRS = 20  # below this an accuracy-optimal cut is mostly noise
MIN_PER_CLASS = 5


class CalibrationMethod(StrEnum):
    LOGISTIC = "logistic"
    ISOTONIC = "isotonic"

    @classmethod
    def parse(cls, value: Any) -> CalibrationMethod:
        return parse_enum(cls, value, "calibration method")


def model_fingerprint(files: Mapping[str, str]) -> str:
    """16 hex digits naming a model folder's content: sha256 over its {file: sha256} map."""
    blob = json.dumps(dict(sorted(files.items())), separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def check_pairs(scores: Any, labels: Any) -> tuple[np.ndarray, np.ndarray]:
    """Validated copies: scores (n,) float64 finite, labels (n,) int64 in {0, 1}, both
    classes present with at least MIN_PER_CLASS each and n >= MIN_PAIRS. ValueError names
    the problem (and the first offending index)."""
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels)
    if s.ndim != 1 or y.ndim != 1 or s.shape != y.shape:
        raise ValueError(f"scores and labels must be 1-D of one length, got {s.shape}, {y.shape}")
    bad = np.flatnonzero(~np.isfinite(s))
    if bad.size:
        raise ValueError(f"scores must be finite: {bad.size} NaN/inf, the first at index {bad[0]}")
    if y.size and not np.all(np.isin(y, (0, 1))):
        first = int(np.flatnonzero(~np.isin(y, (0, 1)))[0])
        raise ValueError(f"labels must be 0 or 1; index {first} is {y[first]!r}")
    y = y.astype(np.int64)
    if s.size < MIN_PAIRS:
        raise ValueError(f"too few pairs: {s.size}; at least {MIN_PAIRS} are needed")
    positives = int(y.sum())
    if positives == 0 or positives == y.size:
        only = "1 (match)" if positives else "0 (no match)"
        raise ValueError(f"one class only: every label is {only}; both 0 and 1 are needed")
    if min(positives, y.size - positives) < MIN_PER_CLASS:
        raise ValueError(
            f"too few pairs of one class: {positives} positive, {y.size - positives} negative; "
            f"at least {MIN_PER_CLASS} of each"
        )
    return s, y


def best_threshold(scores: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """(threshold, accuracy) of the cut `scores >= threshold` with the best accuracy.

    scores (n,) float64, labels (n,) {0, 1}. Candidate cuts are midpoints between distinct
    sorted scores plus one below and one above all; ties in accuracy take the middle one.
    """
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels, dtype=np.int64)
    if s.ndim != 1 or s.shape != y.shape or s.size == 0:
        raise ValueError(f"scores and labels must be non-empty 1-D of one length: {s.shape}")
    values = np.unique(s)
    cuts = np.concatenate([[values[0] - 1e-6], (values[1:] + values[:-1]) / 2, [values[-1] + 1e-6]])
    order = np.sort(s)
    pos_sorted = np.sort(s[y == 1])
    # below the cut: predicted 0. correct = negatives below + positives at or above
    neg_below = np.searchsorted(np.sort(s[y == 0]), cuts, side="left")
    pos_above = pos_sorted.size - np.searchsorted(pos_sorted, cuts, side="left")
    accuracy = (neg_below + pos_above) / order.size
    best = np.flatnonzero(accuracy == accuracy.max())
    pick = best[len(best) // 2]
    return float(cuts[pick]), float(accuracy[pick])


def fit_logistic(scores: np.ndarray, labels: np.ndarray, l2: float = 1e-3) -> tuple[float, float]:
    """(a, b) of P(1 | s) = sigmoid(a * s + b) by Newton's method; scores, labels (n,)."""
    x = np.stack([np.asarray(scores, dtype=np.float64), np.ones(len(scores))], axis=1)
    y = np.asarray(labels, dtype=np.float64)
    w = np.zeros(2)
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-(x @ w)))
        grad = x.T @ (p - y) + l2 * w
        hess = (x * (p * (1 - p))[:, None]).T @ x + l2 * np.eye(2)
        step = np.linalg.solve(hess, grad)
        w = w - step
        if np.max(np.abs(step)) < 1e-10:
            break
    return float(w[0]), float(w[1])


def fit_isotonic(scores: np.ndarray, labels: np.ndarray) -> tuple[list[float], list[float]]:
    """Pool-adjacent-violators: (x, y) knots, x increasing block means of the scores and
    y non-decreasing block means of the labels; scores, labels (n,)."""
    order = np.argsort(np.asarray(scores, dtype=np.float64), kind="stable")
    xs = np.asarray(scores, dtype=np.float64)[order]
    ys = np.asarray(labels, dtype=np.float64)[order]
    blocks: list[list[float]] = []  # [sum_y, sum_x, count]
    for xv, yv in zip(xs.tolist(), ys.tolist(), strict=True):
        blocks.append([yv, xv, 1.0])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][2] >= blocks[-1][0] / blocks[-1][2]:
            y2, x2, n2 = blocks.pop()
            blocks[-1][0] += y2
            blocks[-1][1] += x2
            blocks[-1][2] += n2
    return [b[1] / b[2] for b in blocks], [b[0] / b[2] for b in blocks]


@dataclass(frozen=True)
class Calibration:
    """A fitted decision for one model. `threshold` is a cosine; `probability(s)` in [0, 1]."""

    model: str
    fingerprint: str
    method: CalibrationMethod
    threshold: float
    logistic: tuple[float, float]  # (a, b): always fitted, the isotonic fallback's shape
    isotonic: tuple[tuple[float, ...], tuple[float, ...]] | None  # (x, y) knots
    pairs: int
    positives: int
    accuracy: float  # of `threshold` on the fitting pairs
    fitted_at: float
    version: int = FORMAT_VERSION

    def probability(self, score: float) -> float:
        if self.method is CalibrationMethod.ISOTONIC and self.isotonic is not None:
            x, y = self.isotonic
            return float(np.interp(score, x, y))
        a, b = self.logistic
        z = a * score + b
        return 1.0 / (1.0 + math.exp(-z)) if z > -700 else 0.0

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["method"] = self.method.value
        out["logistic"] = list(self.logistic)
        out["isotonic"] = None if self.isotonic is None else [list(v) for v in self.isotonic]
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Calibration:
        """Parse and check a stored or uploaded calibration (ValueError names the field)."""
        if not isinstance(data, Mapping):
            raise ValueError("a calibration must be a JSON object")
        if data.get("version", FORMAT_VERSION) != FORMAT_VERSION:
            raise ValueError(f"calibration version {data.get('version')!r}; this server reads "
                             f"{FORMAT_VERSION}")  # fmt: skip
        missing = [k for k in ("model", "fingerprint", "method", "threshold", "logistic")
                   if k not in data]  # fmt: skip
        if missing:
            raise ValueError(f"calibration lacks {', '.join(missing)}")
        numbers = [data["threshold"], *data["logistic"], data.get("accuracy", 0.0)]
        iso = data.get("isotonic")
        if iso is not None:
            if len(iso) != 2 or len(iso[0]) != len(iso[1]) or not iso[0]:
                raise ValueError("calibration isotonic must be [x knots, y knots] of one length")
            numbers += [*iso[0], *iso[1]]
        try:
            finite = all(math.isfinite(float(v)) for v in numbers)
        except (TypeError, ValueError):
            finite = False
        if not finite or len(data["logistic"]) != 2:
            raise ValueError("calibration threshold, logistic (a, b) and knots must be finite "
                             "numbers")  # fmt: skip
        return cls(
            model=str(data["model"]),
            fingerprint=str(data["fingerprint"]),
            method=CalibrationMethod.parse(data["method"]),
            threshold=float(data["threshold"]),
            logistic=(float(data["logistic"][0]), float(data["logistic"][1])),
            isotonic=None
            if iso is None
            else (tuple(map(float, iso[0])), tuple(map(float, iso[1]))),
            pairs=int(data.get("pairs", 0)),
            positives=int(data.get("positives", 0)),
            accuracy=float(data.get("accuracy", 0.0)),
            fitted_at=float(data.get("fitted_at", 0.0)),
        )


def fit(
    scores: Any,
    labels: Any,
    *,
    model: str,
    fingerprint: str,
    method: CalibrationMethod | str = CalibrationMethod.LOGISTIC,
) -> Calibration:
    """Fit a calibration from cosines (n,) and labels (n,) {0, 1} (checked by check_pairs)."""
    method = CalibrationMethod.parse(method)
    s, y = check_pairs(scores, labels)
    threshold, accuracy = best_threshold(s, y)
    iso = fit_isotonic(s, y) if method is CalibrationMethod.ISOTONIC else None
    return Calibration(
        model=model,
        fingerprint=fingerprint,
        method=method,
        threshold=threshold,
        logistic=fit_logistic(s, y),
        isotonic=None if iso is None else (tuple(iso[0]), tuple(iso[1])),
        pairs=int(s.size),
        positives=int(y.sum()),
        accuracy=accuracy,
        fitted_at=time.time(),
    )
