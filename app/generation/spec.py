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
    past: tuple[str, ...]  # key_0, value_0, key_1, ... inputs, each (B, heads, P, D)
    logits: str
    present: tuple[str, ...]  # the matching outputs, each (B, heads, P + T, D)
    layers: int
    heads: int
    head_dim: int
    max_positions: int
    max_source_length: int
    end_token: str
    banned_tokens: tuple[str, ...]
    sampling: SamplingDefaults
    words: str | None = None  # optional word list file (one word a line), for DecodeConstraints

    @classmethod
    def from_manifest(cls, generator: dict[str, Any]) -> GeneratorSpec:
        """Parse `manifest.generator`; raises ValueError naming what is missing."""
        try:
            inputs, outputs, cache = generator["inputs"], generator["outputs"], generator["cache"]
            sampling = generator.get("sampling") or {}
            layers = int(cache["layers"])
            past, present = inputs["past"], outputs["present"]
            if isinstance(past, str) or isinstance(present, str):
                raise ValueError(
                    "generator graph uses one packed key/value cache (an older export); "
                    "re-export the folder with `python -m models export-simbert`"
                )
            if len(past) != 2 * layers or len(present) != 2 * layers:
                raise ValueError(
                    f"generator cache needs {2 * layers} past and present names, "
                    f"got {len(past)} and {len(present)}"
                )
            return cls(
                graph=generator["graph"],
                input_ids=inputs["input_ids"],
                token_type_ids=inputs["token_type_ids"],
                attention_mask=inputs["attention_mask"],
                past=tuple(past),
                logits=outputs["logits"],
                present=tuple(present),
                layers=layers,
                heads=int(cache["heads"]),
                head_dim=int(cache["head_dim"]),
                max_positions=int(generator["max_positions"]),
                max_source_length=int(generator["max_source_length"]),
                end_token=generator.get("end_token", "[SEP]"),
                banned_tokens=tuple(generator.get("banned_tokens", ())),
                sampling=SamplingDefaults(**sampling),
                words=generator.get("words") or None,
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"bad generator section in manifest: {exc!r}") from None
