"""The generator section of a manifest: per-layer cache names, older packed exports refused."""

from __future__ import annotations

import pytest

from app.generation.spec import GeneratorSpec


def section(past, present, layers=2) -> dict:
    return {
        "graph": "encoder.onnx",
        "inputs": {
            "input_ids": "input_ids",
            "token_type_ids": "token_type_ids",
            "attention_mask": "attention_mask",
            "past": past,
        },
        "outputs": {"logits": "logits", "present": present},
        "cache": {"layers": layers, "heads": 4, "head_dim": 16},
        "max_positions": 512,
        "max_source_length": 32,
    }


def names(prefix: str, layers: int = 2) -> list[str]:
    return [f"{prefix}_{r}.{i}" for i in range(layers) for r in ("key", "value")]


def test_per_layer_cache_names_are_read_in_order():
    spec = GeneratorSpec.from_manifest(section(names("past"), names("present")))
    assert spec.past == ("past_key.0", "past_value.0", "past_key.1", "past_value.1")
    assert spec.present[-1] == "present_value.1" and spec.layers == 2


def test_a_packed_cache_export_is_refused_with_how_to_fix():
    with pytest.raises(ValueError, match="re-export"):
        GeneratorSpec.from_manifest(section("past_key_values", "present_key_values"))


def test_cache_names_must_cover_every_layer():
    with pytest.raises(ValueError, match="4 past and present"):
        GeneratorSpec.from_manifest(section(names("past")[:2], names("present")))
