"""Duplicate detection on upsert: which incoming documents have a near-identical match,
among the stored documents (their texts and aliases) or earlier in the same batch.

The check runs under the collection's write lock, right before the write (`Collection.upsert`
`before=`), so with `refuse` no concurrent upsert can slip a duplicate in between.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from app.errors import Conflict, ValidationFailed
from app.index.calibration import Calibration
from app.index.collection import Collection
from app.index.docstore import Document


class DuplicateAction(StrEnum):
    REPORT = "report"  # write everything, list the duplicates in the answer
    REFUSE = "refuse"  # write nothing when any document is a duplicate (409)


@dataclass(frozen=True)
class DuplicateCheck:
    action: DuplicateAction = DuplicateAction.REPORT
    threshold: float | None = None  # cosine; None: the collection's calibration threshold


@dataclass(frozen=True)
class Duplicate:
    index: int  # position in the request (after repeated ids collapsed, last wins)
    id: str
    duplicate_of: str  # a stored document's id, or an earlier document of the same request
    score: float  # cosine
    matched_alias: str | None  # the stored alias that matched, None for a text


def threshold_for(coll: Collection, check: DuplicateCheck, fingerprint: str | None) -> float:
    """The cosine threshold: given, or the calibration's when it was fitted for the model
    the collection holds and for `fingerprint` (the served model's; None: not served)."""
    if check.threshold is not None:
        if not -1.0 <= check.threshold <= 1.0:
            raise ValidationFailed(
                "duplicates.threshold is a cosine in [-1, 1]", param="duplicates.threshold"
            )
        return check.threshold
    raw = coll.meta("calibration")
    if raw is None:
        raise ValidationFailed(
            f"give duplicates.threshold, or calibrate collection {coll.config.name!r} "
            "(PUT /collections/{name}/calibration) to use its threshold",
            param="duplicates.threshold",
        )
    cal = Calibration.from_dict(raw)
    if cal.model != coll.config.model or (
        fingerprint is not None and cal.fingerprint != fingerprint
    ):
        raise Conflict(
            f"collection {coll.config.name!r}'s calibration was fitted for model {cal.model!r} "
            f"(fingerprint {cal.fingerprint}), not the served {coll.config.model!r} "
            f"(fingerprint {fingerprint}); fit it again or give duplicates.threshold",
            param="duplicates.threshold",
        )
    return cal.threshold


def find_duplicates(
    coll: Collection, docs: Sequence[Document], vectors: np.ndarray, threshold: float
) -> list[Duplicate]:
    """Each document's best match at or above `threshold` (cosine): a stored document other
    than itself (an upsert replacing a document is not its own duplicate), or an earlier
    document of the batch. vectors: (n, dimension) unit float32, row i for docs[i]."""
    found: list[Duplicate] = []
    stored = coll.search(vectors, 2) if coll.size else [[] for _ in docs]
    within = vectors @ vectors.T if len(docs) > 1 else np.zeros((1, 1))
    for i, doc in enumerate(docs):
        best: Duplicate | None = None
        for hit in stored[i]:
            if hit.id != doc.id and hit.score >= threshold:
                best = Duplicate(i, doc.id, hit.id, round(hit.score, 6), hit.alias)
                break
        if i:
            j = int(np.argmax(within[i, :i]))
            score = float(within[i, j])
            if score >= threshold and (best is None or score > best.score):
                best = Duplicate(i, doc.id, docs[j].id, round(score, 6), None)
        if best is not None:
            found.append(best)
    return found


def refuse(duplicates: Sequence[Duplicate], threshold: float) -> None:
    shown = "; ".join(
        f"documents[{d.index}] {d.id!r} ~ {d.duplicate_of!r} ({d.score:.3f})"
        for d in duplicates[:5]
    )
    more = f" and {len(duplicates) - 5} more" if len(duplicates) > 5 else ""
    raise Conflict(
        f"{len(duplicates)} document(s) duplicate others at cosine >= {threshold:.3f}: "
        f"{shown}{more}; nothing was written",
        param=f"documents[{duplicates[0].index}]",
    )


def checker(
    coll: Collection,
    docs: Sequence[Document],
    vectors: np.ndarray,
    threshold: float,
    action: DuplicateAction,
) -> Callable[[], tuple[Duplicate, ...]]:
    """The `before` hook of `Collection.upsert`: find the duplicates, refuse if asked."""

    def check() -> tuple[Duplicate, ...]:
        found = find_duplicates(coll, docs, vectors, threshold)
        if found and action is DuplicateAction.REFUSE:
            refuse(found, threshold)
        return tuple(found)

    return check
