"""The SimBERT generator backend: built by `ModelRegistry` at start-up, like encoders.

`Generator` meets `app.engines.backend.ModelBackend` (load, warm-up, run). It lives in the
services layer because it joins an engine (the model's tokenizer and onnxruntime session)
with app.generation (the UniLM decoder) and the word rule of services/decoding.py; the
composition root hands `generator_factory` to the registry.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.engines.backend import BackendKind
from app.engines.manifest import ModelKind
from app.engines.registry import BackendFactory, ServedModel
from app.engines.session import create_session
from app.generation.constraints import StepConstraints
from app.generation.decoder import DecodeMode, Generated, SamplingParams, UniLMDecoder
from app.generation.spec import GeneratorSpec
from app.services.decoding import WordRule, word_rule
from app.settings import ModelSettings

WARMUP_TEXT = "warm up"


@dataclass(frozen=True)
class Generator:
    served: ServedModel  # the model whose encoder scores the candidates
    spec: GeneratorSpec
    decoder: UniLMDecoder
    words: WordRule
    mode: DecodeMode
    kind = BackendKind.GENERATOR

    @classmethod
    def load(cls, served: ServedModel, models: ModelSettings, mode: DecodeMode) -> Generator:
        """Read the manifest's generator section; reuse the encoder's session when the
        folder has one graph for both. ValueError for a section or graph it cannot use."""
        spec = GeneratorSpec.from_manifest(served.manifest.generator or {})
        if spec.graph == served.manifest.onnx.file:
            session = served.encoder.session  # one graph: share weights and memory
        else:
            m = models
            session = create_session(
                served.folder / spec.graph, m.device, m.intra_op_threads, m.inter_op_threads
            )
        tok = served.encoder.tokenizer
        end_id = tok.token_to_id(spec.end_token)
        if end_id is None:
            raise ValueError(f"{served.folder}: end token {spec.end_token!r} not in vocabulary")
        banned = [i for i in (tok.token_to_id(t) for t in spec.banned_tokens) if i is not None]
        words = word_rule(tok, served.folder / spec.words if spec.words else None)
        decoder = UniLMDecoder(session, spec, end_id, banned)
        return cls(served, spec, decoder, words, mode)

    def warmup(self) -> None:
        """One greedy two-token decode of a short prompt (prompt pass and cached step)."""
        ids = self.served.encoder.tokenize([WARMUP_TEXT])[0].ids
        params = SamplingParams(n=1, max_new_tokens=2, top_k=1, top_p=None)
        self.run(ids, params, np.random.default_rng(0))

    def run(
        self,
        prompt: np.ndarray,
        params: SamplingParams,
        rng: np.random.Generator,
        steps: StepConstraints | None = None,
    ) -> Generated:
        """Decode `params.n` continuations of `prompt` ((T,) int64); blocking."""
        return self.decoder.generate(prompt, params, rng, self.mode, steps)


def is_generator(served: ServedModel) -> bool:
    """A SimBERT folder with a generator section (others serve as encoders only)."""
    return served.manifest.kind is ModelKind.SIMBERT and bool(served.manifest.generator)


def generator_factory(models: ModelSettings, mode: DecodeMode) -> BackendFactory:
    """The registry's factory for BackendKind.GENERATOR."""

    def build(served: ServedModel) -> Generator | None:
        return Generator.load(served, models, mode) if is_generator(served) else None

    return build
