"""The generator section of a `simbert` model folder's manifest, typed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SamplingDefaults:
    top_k: int | None = 5
    top_p: float | None = None
    temperature: float = 1.0
    max_new_tokens: int = 32


@dataclass(frozen=True)
class GeneratorSpec:
    graph: str
    input_ids: str
    token_type_ids: str
    attention_mask: str
    past: str
    logits: str
    present: str
    layers: int
    heads: int
    head_dim: int
    max_positions: int
    max_source_length: int
    end_token: str
    banned_tokens: tuple[str, ...]
    sampling: SamplingDefaults

    @classmethod
    def from_manifest(cls, generator: dict[str, Any]) -> GeneratorSpec:
        """Parse `manifest.generator`; raises ValueError naming what is missing."""
        try:
            inputs, outputs, cache = generator["inputs"], generator["outputs"], generator["cache"]
            sampling = generator.get("sampling") or {}
            return cls(
                graph=generator["graph"],
                input_ids=inputs["input_ids"],
                token_type_ids=inputs["token_type_ids"],
                attention_mask=inputs["attention_mask"],
                past=inputs["past"],
                logits=outputs["logits"],
                present=outputs["present"],
                layers=int(cache["layers"]),
                heads=int(cache["heads"]),
                head_dim=int(cache["head_dim"]),
                max_positions=int(generator["max_positions"]),
                max_source_length=int(generator["max_source_length"]),
                end_token=generator.get("end_token", "[SEP]"),
                banned_tokens=tuple(generator.get("banned_tokens", ())),
                sampling=SamplingDefaults(**sampling),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"bad generator section in manifest: {exc!r}") from None
