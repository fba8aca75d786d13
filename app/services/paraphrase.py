"""`gen_synonyms` (docs/METHODS.md 3.2): sample n paraphrases in one batched decode, dedupe,
drop the input, embed candidates and input with the same model, rank by cosine, top k.

Deviations, per request and on by default (`DecodeConstraints`, issue 11): the word rule
and repeat bans mask the logits at every step (app.generation.constraints); a question's
candidates are kept questions (`as_question`: completed with its mark or dropped). The
input is dropped also when a candidate differs from it only in case, spacing or
punctuation (a lowercasing tokenizer would otherwise return the input itself).

Decoding is CPU-bound and runs in a worker thread; at most `max_concurrent` decodes run
at once and at most `max_queued` requests wait for a slot (then 429). Generators are
built and warmed by `ModelRegistry` at start-up (services/generators.py); one that could
not be is excluded from the default choice and answers 503 with the reason when named.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass
from typing import cast

import numpy as np

from app.engines.backend import BackendKind
from app.engines.registry import ModelRegistry
from app.errors import (
    DeadlineExceeded,
    InvalidInput,
    Overloaded,
    PayloadTooLarge,
    Unavailable,
    ValidationFailed,
)
from app.generation.constraints import DecodeConstraints
from app.generation.decoder import Generated, SamplingParams
from app.generation.text import (
    cjk_share,
    keep_questions,
    question_mark,
    same_text,
    tidy,
    unique_candidates,
)
from app.metrics import Metrics
from app.services.decoding import parse_constraints, step_constraints
from app.services.embedding import EmbeddingService
from app.services.generators import Generator, is_generator
from app.settings import GenerationSettings

# an input with at least this share of ideographs gets the most Chinese generator by default
CHINESE_INPUT_SHARE = 0.3
NO_GENERATOR = (
    "no generator (kind 'simbert') model is served. The repository ships one in "
    "models/zoo/minilm-simbert (served when models.dirs includes models/zoo, the default); "
    "or train one with `python -m models train-simbert --source <bert folder> --pairs <tsv> "
    "--out var/models/<name>` and restart"
)


def check_work_bound(value: int, limit: int, param: str) -> None:
    """A count that sizes the work: below 1 is invalid (422), above the limit too much (413)."""
    if value < 1:
        raise ValidationFailed(f"{param} must be in [1, {limit}], got {value}", param=param)
    if value > limit:
        raise PayloadTooLarge(f"{param} must be in [1, {limit}], got {value}", param=param)


@dataclass(frozen=True)
class Paraphrase:
    text: str
    score: float  # cosine to the input, by the generator's own encoder


@dataclass(frozen=True)
class GenerationUsage:
    prompt_tokens: int
    generated_tokens: int
    candidates: int  # sampled sequences (n)
    unique: int  # after dedupe and dropping the input
    truncated: int  # sequences cut at max_length without [SEP]
    seed: int
    dropped: int = 0  # unique candidates dropped by keep_question (not questions)


@dataclass(frozen=True)
class ParaphraseResult:
    model: str
    paraphrases: list[Paraphrase]
    usage: GenerationUsage
    # (len(paraphrases), dim) float32 unit rows: the paraphrases by `model`'s encoder (the
    # vectors they were ranked with), for callers that index them (augment)
    vectors: np.ndarray


class ParaphraseService:
    def __init__(
        self,
        registry: ModelRegistry,
        embeddings: EmbeddingService,
        settings: GenerationSettings,
        metrics: Metrics | None = None,
    ):
        self.metrics = metrics
        self.registry = registry
        self.embeddings = embeddings
        self.settings = settings
        self._cjk_coverage: dict[str, float] = {}
        self._slots = asyncio.Semaphore(settings.max_concurrent)
        self._waiting = 0

    def generator_names(self) -> list[str]:
        """Served models with a generator section, usable or excluded at start-up."""
        return [s.name for s in self.registry.all() if is_generator(s)]

    def generator(self, name: str | None, text: str = "") -> Generator:
        """The named generator (or the default one for `text`); domain errors when there is
        none, and 503 with the start-up error for one the registry excluded."""
        names = self.generator_names()
        if name is None:
            if not names:
                raise Unavailable(NO_GENERATOR)
            usable = [n for n in names if not self.registry.excluded(n, BackendKind.GENERATOR)]
            name = self._default_for(usable, text) if usable else names[0]
        self.registry.get(name)  # ModelNotFound for a name not served
        if name not in names:
            raise ValidationFailed(
                f"model {name!r} is an encoder without a generator; generators served: {names}",
                param="model",
            )
        return cast(Generator, self.registry.backend(name, BackendKind.GENERATOR))

    def _default_for(self, names: list[str], text: str) -> str:
        """Among the usable generators `names`: `generation.default_model` when it is one;
        otherwise, by the input's script, the generator whose vocabulary holds the most
        (Chinese input: at least 30% ideographs) or the fewest (any other input) CJK
        ideographs; ties keep the served order."""
        if self.settings.default_model in names:
            return self.settings.default_model
        if len(names) == 1:
            return names[0]
        coverage = {n: self._cjk_vocabulary(n) for n in names}
        chinese = cjk_share(text) >= CHINESE_INPUT_SHARE
        return max(names, key=lambda n: coverage[n] if chinese else -coverage[n])

    def _cjk_vocabulary(self, name: str) -> float:
        if name not in self._cjk_coverage:
            pieces = self.registry.get(name).encoder.tokenizer.vocabulary()
            self._cjk_coverage[name] = sum(cjk_share(p) == 1.0 for p in pieces) / max(
                len(pieces), 1
            )
        return self._cjk_coverage[name]

    def params(
        self,
        gen: Generator,
        *,
        n: int,
        top_k: int | None,
        top_p: float | None,
        temperature: float,
        max_length: int,
    ) -> SamplingParams:
        """Check request bounds (domain errors); no top_k/top_p given -> the model's defaults."""
        s = self.settings
        check_work_bound(n, s.max_n, "n")
        check_work_bound(max_length, s.max_new_tokens, "max_length")
        if top_k is not None and top_k < 1:
            raise ValidationFailed(f"top_k must be >= 1, got {top_k}", param="top_k")
        if top_p is not None and not 0 < top_p <= 1:
            raise ValidationFailed(f"top_p must be in (0, 1], got {top_p}", param="top_p")
        if not s.min_temperature <= temperature <= s.max_temperature:
            raise ValidationFailed(
                f"temperature must be in [{s.min_temperature:g}, {s.max_temperature:g}], got "
                f"{temperature:g} (for greedy decoding, send top_k=1)",
                param="temperature",
            )
        if top_k is None and top_p is None:
            top_k, top_p = gen.spec.sampling.top_k, gen.spec.sampling.top_p
        return SamplingParams(n, max_length, top_k, top_p, temperature)

    def prompt(self, gen: Generator, text: str) -> np.ndarray:
        """`[CLS] text [SEP]` cut to the generator's max_source_length tokens."""
        if not isinstance(text, str) or not text.strip():
            raise InvalidInput("text must be a non-empty string", param="text")
        if len(text) > self.settings.max_text_chars:
            raise PayloadTooLarge(
                f"text has {len(text)} characters; at most {self.settings.max_text_chars}",
                param="text",
            )
        ids = gen.served.encoder.tokenize([text])[0].ids
        limit = gen.spec.max_source_length
        if len(ids) > limit:
            ids = np.concatenate([ids[: limit - 1], ids[-1:]])
        return ids

    async def _decode(
        self, gen: Generator, prompt, params, rng, deadline: float, steps=None
    ) -> Generated:
        if self._slots.locked() and self._waiting >= self.settings.max_queued:
            raise Overloaded("too many paraphrase requests waiting; retry later")
        self._waiting += 1
        try:
            await asyncio.wait_for(self._slots.acquire(), max(deadline - time.monotonic(), 0.001))
        except TimeoutError:
            raise DeadlineExceeded("no decoding slot became free in time") from None
        finally:
            self._waiting -= 1
        task = asyncio.ensure_future(asyncio.to_thread(gen.run, prompt, params, rng, steps))
        task.add_done_callback(lambda _: self._slots.release())  # slot held until it ends
        try:
            return await asyncio.wait_for(
                asyncio.shield(task), max(deadline - time.monotonic(), 0.001)
            )
        except TimeoutError:
            raise DeadlineExceeded(f"decoding took over {self.settings.timeout_s} s") from None

    async def paraphrase(
        self,
        text: str,
        *,
        model: str | None = None,
        n: int = 100,
        k: int = 20,
        top_k: int | None = None,
        top_p: float | None = None,
        temperature: float = 1.0,
        max_length: int = 32,
        seed: int | None = None,
        constraints: DecodeConstraints | dict | None = None,
    ) -> ParaphraseResult:
        deadline = time.monotonic() + self.settings.timeout_s
        options = parse_constraints(constraints)
        gen = self.generator(model, text)
        params = self.params(
            gen, n=n, top_k=top_k, top_p=top_p, temperature=temperature, max_length=max_length
        )
        check_work_bound(k, self.settings.max_k, "k")
        if seed is not None and not 0 <= seed < 2**63:
            raise ValidationFailed("seed must be in [0, 2**63)", param="seed")
        prompt = self.prompt(gen, text)
        if prompt.size + params.max_new_tokens > gen.spec.max_positions:
            raise ValidationFailed(
                f"{prompt.size} prompt tokens + max_length {max_length} exceed the model's "
                f"{gen.spec.max_positions} positions",
                param="max_length",
            )
        seed = secrets.randbelow(2**63) if seed is None else seed
        started = time.perf_counter()
        tok = gen.served.encoder.tokenizer
        steps = step_constraints(gen.words, tok, text, options, params.n)
        rng = np.random.default_rng(seed)
        generated = await self._decode(gen, prompt, params, rng, deadline, steps)
        self._observe(gen.served.name, "generate", started)
        texts = [tidy(tok.decode(s.tolist())) for s in generated.sequences]
        mark = question_mark(text) if options.keep_question else None
        texts, dropped = keep_questions(texts, generated.truncated, mark)
        source = [text, tok.decode(prompt.tolist())]
        candidates = [c for c in unique_candidates(texts, exclude=source) if not same_text(c, text)]
        started = time.perf_counter()
        ranked, vectors = await self._rank(gen.served.name, text, candidates)
        self._observe(gen.served.name, "rerank", started)
        return ParaphraseResult(
            model=gen.served.name,
            paraphrases=ranked[:k],
            vectors=vectors[:k],
            usage=GenerationUsage(
                prompt_tokens=int(prompt.size),
                generated_tokens=generated.tokens,
                candidates=n,
                unique=len(candidates),
                truncated=int(generated.truncated.sum()),
                seed=seed,
                dropped=dropped,
            ),
        )

    def _observe(self, model: str, stage: str, started: float) -> None:
        if self.metrics is not None:
            self.metrics.stage_seconds.labels(model, stage).observe(time.perf_counter() - started)

    async def _rank(
        self, model: str, text: str, candidates: list[str]
    ) -> tuple[list[Paraphrase], np.ndarray]:
        """Cosine of each candidate to the input by the same model's encoder, descending;
        with the candidates' (len(candidates), dim) unit vectors in that order."""
        if not candidates:
            dim = self.registry.get(model).manifest.dimension
            return [], np.zeros((0, dim), np.float32)
        vectors = (await self.embeddings.encode([text, *candidates], model=model)).vectors
        scores = vectors[1:] @ vectors[0]
        order = np.argsort(-scores, kind="stable")
        return [Paraphrase(candidates[i], float(scores[i])) for i in order], vectors[1:][order]
