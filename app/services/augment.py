"""FAQ augmentation: generated paraphrases of a document, stored as its aliases.

Each document's text goes through `ParaphraseService` (SimBERT `gen_synonyms`: sample n,
dedupe, drop the input, rank by cosine to it); the top k become aliases that the collection
indexes with their own vectors and resolves to the document (a hit on one returns the
document once). Decoding is the expensive part, so the documents per request are bounded.
Each alias comes with the vector it was ranked with (by the generator's encoder), which the
upsert stores as is when the collection uses that same model instead of embedding it again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from app.errors import SimserveError, ValidationFailed
from app.services.paraphrase import ParaphraseService, check_work_bound
from app.settings import CollectionSettings


@dataclass(frozen=True)
class AugmentOptions:
    k: int = 5  # aliases kept per document: the k paraphrases closest to it
    model: str | None = None  # generator; the served default generator when None
    n: int = 32  # candidates sampled per document
    max_length: int = 32  # new tokens per candidate
    min_score: float | None = None  # drop paraphrases with a lower cosine to the document
    seed: int | None = None  # document i decodes with seed + i: same request, same aliases


@dataclass(frozen=True)
class GeneratedAliases:
    """One document's generated aliases, best first."""

    model: str  # the generator, whose encoder embedded `vectors`
    texts: list[str]
    vectors: np.ndarray  # (len(texts), dim) float32 unit rows, by `model`


class Augmenter:
    def __init__(self, paraphrases: ParaphraseService, settings: CollectionSettings):
        self.paraphrases = paraphrases
        self.settings = settings

    async def aliases(
        self, texts: Sequence[str], options: AugmentOptions
    ) -> list[GeneratedAliases]:
        """Generated aliases per document text, best first (at most k each)."""
        check_work_bound(len(texts), self.settings.max_augmented_documents, "documents")
        if options.min_score is not None and not -1 <= options.min_score <= 1:
            raise ValidationFailed(
                "augment.min_score must be in [-1, 1]", param="augment.min_score"
            )
        if options.seed is not None and not 0 <= options.seed < 2**63:
            raise ValidationFailed("augment.seed must be in [0, 2**63)", param="augment.seed")
        out = []
        for i, text in enumerate(texts):
            seed = None if options.seed is None else (options.seed + i) % 2**63
            try:
                result = await self.paraphrases.paraphrase(
                    text, model=options.model, n=options.n, k=options.k,
                    max_length=options.max_length, seed=seed,
                )  # fmt: skip
            except SimserveError as exc:
                raise _located(exc, i) from None
            keep = [
                i
                for i, p in enumerate(result.paraphrases)
                if options.min_score is None or p.score >= options.min_score
            ]
            out.append(
                GeneratedAliases(
                    result.model,
                    [result.paraphrases[i].text for i in keep],
                    result.vectors[keep],
                )
            )
        return out


def _located(exc: SimserveError, index: int) -> SimserveError:
    """The same error with its param named as the upsert request spells it."""
    if exc.param is None:
        return exc
    where = f"documents[{index}].text" if exc.param == "text" else f"augment.{exc.param}"
    return type(exc)(exc.message, param=where, retry_after=exc.retry_after)
