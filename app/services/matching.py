"""FAQ match-or-abstain: a collection's calibration (fitted from labelled pairs) decides
whether the best hit of a search answers the query.

The calibration lives in the collection's docstore (meta `calibration`, one durable
transaction), fitted for the collection's model: `model` and the model folder's
`fingerprint` must equal what is served, else every use is a 409 naming both (a model
re-exported under the same name changes its vectors and so its cosines).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.errors import Conflict, PayloadTooLarge, ValidationFailed
from app.index.calibration import Calibration, CalibrationMethod, fit, model_fingerprint
from app.index.collection import Collection
from app.services.collections import CollectionService
from app.services.search import SearchHit, SearchService
from app.services.texts import check_text

META_KEY = "calibration"


@dataclass(frozen=True)
class MatchResult:
    collection: str
    model: str
    matched: bool
    confidence: float  # calibrated P(match) of the best hit's cosine; 0 without a hit
    threshold: float  # cosine cut of the calibration
    hit: SearchHit | None  # the best hit when matched
    alternatives: list[SearchHit]  # runners-up (matched) or the best candidates (abstained)
    search_ms: float


def stored(coll: Collection) -> Calibration | None:
    raw = coll.meta(META_KEY)
    return None if raw is None else Calibration.from_dict(raw)


class MatchService:
    def __init__(self, collections: CollectionService, search: SearchService):
        self.collections = collections
        self.search_service = search

    def fingerprint(self, model: str) -> str:
        return model_fingerprint(self.collections.embeddings.model(model).manifest.files)

    def problem(self, coll: Collection, cal: Calibration) -> str | None:
        """Why `cal` cannot decide for `coll` now (another model, or the model changed)."""
        model = coll.config.model
        if cal.model != model:
            return (f"the calibration was fitted for model {cal.model!r} but collection "
                    f"{coll.config.name!r} holds model {model!r} vectors")  # fmt: skip
        if model in self.collections.embeddings.registry.names():
            served = self.fingerprint(model)
            if served != cal.fingerprint:
                return (f"the calibration was fitted for model {model!r} with fingerprint "
                        f"{cal.fingerprint}, but the served {model!r} has fingerprint {served} "
                        "(re-exported or changed); fit it again")  # fmt: skip
        return None

    # ---- calibration --------------------------------------------------------------------
    async def calibrate(
        self,
        name: str,
        *,
        pairs: Sequence[tuple[str, str, int]] | None = None,
        scores: Sequence[float] | None = None,
        labels: Sequence[int] | None = None,
        calibration: Mapping[str, Any] | None = None,
        method: str = CalibrationMethod.LOGISTIC.value,
    ) -> Calibration:
        """Fit from text pairs (embedded by the collection's model) or from precomputed
        cosines with labels, or take an uploaded calibration (`python -m models
        fit-threshold`); checked, then stored durably with the collection."""
        coll = self.collections.store.get(name)
        model = self.collections.model_for(coll)
        given = [
            pairs is not None,
            scores is not None or labels is not None,
            calibration is not None,
        ]
        if sum(given) != 1:
            raise ValidationFailed(
                "give exactly one of pairs, scores with labels, or calibration", param="pairs"
            )
        if calibration is not None:
            try:
                cal = Calibration.from_dict(calibration)
            except ValueError as exc:
                raise ValidationFailed(str(exc), param="calibration") from None
            problem = self.problem(coll, cal)
            if problem is not None:
                raise Conflict(problem, param="calibration.model")
        else:
            if pairs is not None:
                scores, labels, param = (
                    await self._pair_scores(coll, pairs),
                    [p[2] for p in pairs],
                    "pairs",
                )
            else:
                param = "scores"
                if scores is None or labels is None:
                    raise ValidationFailed("scores need labels (and labels scores)", param=param)
                self._check_size(len(scores), param)
            try:
                cal = fit(scores, labels, model=model, fingerprint=self.fingerprint(model),
                          method=method)  # fmt: skip
            except ValueError as exc:
                raise ValidationFailed(f"{param}: {exc}", param=param) from None
        await asyncio.to_thread(coll.set_meta, META_KEY, cal.to_dict())
        return cal

    def _check_size(self, n: int, param: str) -> None:
        limit = self.collections.settings.max_calibration_pairs
        if n > limit:
            raise PayloadTooLarge(f"{n} {param} given; at most {limit}", param=param)

    async def _pair_scores(self, coll: Collection, pairs: Sequence[tuple[str, str, int]]):
        self._check_size(len(pairs), "pairs")
        if not pairs:
            return np.zeros(0)
        for i, (a, b, _) in enumerate(pairs):
            check_text(a, f"pairs[{i}].a", self.collections.limits)
            check_text(b, f"pairs[{i}].b", self.collections.limits)
        texts = [p[0] for p in pairs] + [p[1] for p in pairs]
        vectors = await self.collections.vectors(coll, texts)
        return np.sum(vectors[: len(pairs)] * vectors[len(pairs) :], axis=1).astype(np.float64)

    async def drop_calibration(self, name: str) -> bool:
        coll = self.collections.store.get(name)
        had = await asyncio.to_thread(coll.meta, META_KEY) is not None
        await asyncio.to_thread(coll.set_meta, META_KEY, None)
        return had

    async def calibration(self, name: str) -> tuple[Calibration | None, str | None]:
        """The stored calibration and why it cannot be used now (None when it can)."""
        coll = self.collections.store.get(name)
        cal = await asyncio.to_thread(stored, coll)
        return cal, None if cal is None else self.problem(coll, cal)

    # ---- match --------------------------------------------------------------------------
    async def match(self, name: str, query: str, *, alternatives: int = 3, **search) -> MatchResult:
        """Search (any mode, filter, rerank) for 1 + `alternatives` hits; the best hit matches
        when its cosine reaches the calibration's threshold."""
        if not 0 <= alternatives <= 20:
            raise ValidationFailed("alternatives must be in [0, 20]", param="alternatives")
        coll = self.collections.store.get(name)
        cal = await asyncio.to_thread(stored, coll)
        if cal is None:
            raise Conflict(
                f"collection {name!r} has no calibration: PUT /collections/{name}/calibration "
                "with labelled pairs (or a `python -m models fit-threshold` file) first",
                param="collection",
            )
        problem = self.problem(coll, cal)
        if problem is not None:
            raise Conflict(problem, param="calibration")
        result = await self.search_service.search(name, [query], top_k=alternatives + 1, **search)
        hits = result.results[0]
        best = hits[0] if hits else None
        matched = best is not None and best.score >= cal.threshold
        return MatchResult(
            collection=result.collection,
            model=result.model,
            matched=matched,
            confidence=0.0 if best is None else round(cal.probability(best.score), 6),
            threshold=cal.threshold,
            hit=best if matched else None,
            alternatives=hits[1:] if matched else hits[:alternatives],
            search_ms=result.timings.embed_ms + result.timings.search_ms,
        )
