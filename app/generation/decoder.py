"""Batched UniLM sampling on one onnxruntime session: n samples from one source, one decode.

Prefix pass: `[CLS] text [SEP]` (segment 0, empty cache) gives the first next-token
logits and the cache; the cache is replicated n times. Each step feeds one token per
still-running row (segment 1) with the cache, so a step costs one position per row
(`DecodeMode.CACHED`). `DecodeMode.FULL` re-runs the whole sequence every step without
a cache: same samples, kept for the speed comparison in benchmarks/bench_paraphrase.py.
Rows stop at the end token ([SEP]); rows still running after `max_new_tokens` are
returned truncated (docs/METHODS.md 3.2). Finished rows leave the batch and the cache.
With `StepConstraints` (app.generation.constraints) every step's logits are masked before
sampling, and a truncated row loses a trailing unfinished word.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from app.enums import parse_enum
from app.generation.constraints import StepConstraints
from app.generation.sampling import sample_logits
from app.generation.spec import GeneratorSpec


class DecodeMode(StrEnum):
    CACHED = "cached"
    FULL = "full"

    @classmethod
    def parse(cls, value: str) -> DecodeMode:
        return parse_enum(cls, value, "decode mode")


@dataclass(frozen=True)
class SamplingParams:
    n: int
    max_new_tokens: int
    top_k: int | None = 5
    top_p: float | None = None
    temperature: float = 1.0

    def __post_init__(self) -> None:
        if self.n < 1 or self.max_new_tokens < 1:
            raise ValueError("n and max_new_tokens must be >= 1")
        if self.top_k is not None and self.top_k < 1:
            raise ValueError("top_k must be >= 1")
        if self.top_p is not None and not 0 < self.top_p <= 1:
            raise ValueError("top_p must be in (0, 1]")
        if not self.temperature > 0:
            raise ValueError("temperature must be > 0")


@dataclass(frozen=True)
class Generated:
    sequences: tuple[np.ndarray, ...]  # n arrays (len_i,) int64, end token excluded
    truncated: np.ndarray  # (n,) bool: hit max_new_tokens without an end token
    steps: int  # decoding steps run after the prefix pass

    @property
    def tokens(self) -> int:
        return int(sum(len(s) for s in self.sequences))


class UniLMDecoder:
    """Stateless apart from the (thread-safe) onnxruntime session it is given."""

    def __init__(self, session, spec: GeneratorSpec, end_id: int, banned_ids: list[int]):
        self.session = session
        self.spec = spec
        self.end_id = int(end_id)
        self.banned = np.asarray(sorted(set(banned_ids) - {self.end_id}), dtype=np.int64)

    def _empty_cache(self, batch: int) -> list[np.ndarray]:
        """2L zero-length caches, each (batch, heads, 0, head_dim) float32."""
        s = self.spec
        empty = np.zeros((batch, s.heads, 0, s.head_dim), dtype=np.float32)
        return [empty] * len(s.past)

    def _run(self, ids: np.ndarray, seg: np.ndarray, past: list[np.ndarray] | None):
        """(logits (B, V), present: 2L arrays (B, heads, P + T, D)); past None = empty."""
        s = self.spec
        past = self._empty_cache(ids.shape[0]) if past is None else past
        total = ids.shape[1] + past[0].shape[2]
        feeds = {
            s.input_ids: ids,
            s.token_type_ids: seg,
            s.attention_mask: np.ones((ids.shape[0], total), dtype=np.int64),
            **dict(zip(s.past, past, strict=True)),
        }
        logits, *present = self.session.run([s.logits, *s.present], feeds)
        return logits, present

    def _next(
        self,
        logits: np.ndarray,
        first: bool,
        params: SamplingParams,
        rng: np.random.Generator,
        constraints: StepConstraints | None = None,
        rows: np.ndarray | None = None,
    ) -> np.ndarray:
        """One sampled token per row: (B, V) logits -> (B,) int64 (`rows`: their row ids)."""
        logits = np.array(logits, dtype=np.float32)  # copy: the banned entries are overwritten
        logits[:, self.banned] = -np.inf
        if first:  # at least one new token (bert4keras minlen = 1)
            logits[:, self.end_id] = -np.inf
        if constraints is not None:
            logits = constraints.mask(logits, rows)
        return sample_logits(
            logits, rng, temperature=params.temperature, top_k=params.top_k, top_p=params.top_p
        )

    def generate(
        self,
        prompt: np.ndarray,
        params: SamplingParams,
        rng: np.random.Generator,
        mode: DecodeMode = DecodeMode.CACHED,
        constraints: StepConstraints | None = None,
    ) -> Generated:
        """Sample `params.n` continuations of `prompt` ((T,) int64 ids with [CLS] ... [SEP]).

        `constraints`: a fresh `StepConstraints` for n rows (it keeps this decode's state).
        """
        prompt = np.asarray(prompt, dtype=np.int64)
        if prompt.ndim != 1 or prompt.size < 2:
            raise ValueError(f"prompt must be (T,) int64 with T >= 2, got {prompt.shape}")
        if prompt.size + params.max_new_tokens > self.spec.max_positions:
            raise ValueError(
                f"prompt ({prompt.size}) + max_new_tokens ({params.max_new_tokens}) exceeds "
                f"the model's {self.spec.max_positions} positions"
            )
        n = params.n
        logits, present = self._run(prompt[None], np.zeros((1, prompt.size), np.int64), None)
        logits = np.repeat(logits, n, axis=0)
        past = [np.repeat(p, n, axis=0) for p in present] if mode is DecodeMode.CACHED else None
        out = np.zeros((n, params.max_new_tokens), dtype=np.int64)
        lengths = np.zeros(n, dtype=np.int64)
        finished = np.zeros(n, dtype=bool)
        active = np.arange(n)
        steps = 0
        for step in range(params.max_new_tokens):
            nxt = self._next(logits, step == 0, params, rng, constraints, active)
            if constraints is not None:
                constraints.advance(active, nxt, self.end_id)
            ends = nxt == self.end_id
            finished[active[ends]] = True
            keep = ~ends
            active, nxt = active[keep], nxt[keep]
            out[active, step] = nxt
            lengths[active] += 1
            if step == params.max_new_tokens - 1 or active.size == 0:
                break
            steps += 1
            if mode is DecodeMode.CACHED:
                if not keep.all():  # fancy indexing copies the whole cache: only when needed
                    past = [p[keep] for p in past]
                logits, past = self._run(nxt[:, None], np.ones((active.size, 1), np.int64), past)
            else:
                ids = np.concatenate(
                    [np.repeat(prompt[None], active.size, 0), out[active, : step + 1]], 1
                )
                seg = np.concatenate(
                    [
                        np.zeros((active.size, prompt.size), np.int64),
                        np.ones((active.size, step + 1), np.int64),
                    ],
                    axis=1,
                )
                logits, _ = self._run(ids, seg, None)
        if constraints is not None:
            for i in np.flatnonzero(~finished):
                lengths[i] = constraints.complete_length(int(i))
        sequences = tuple(out[i, : lengths[i]].copy() for i in range(n))
        return Generated(sequences, ~finished, steps)
