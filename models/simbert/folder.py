"""Write a served model folder of kind `simbert` from a `UniLM` and its tokenizer.

The folder holds one graph (`encoder.onnx`, see `models.simbert.export`) used both by the
encoder (pooling `pooler`: Dense over [CLS], no tanh) and by the generator described in
`manifest.generator` (read by `app.generation.spec.GeneratorSpec`).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from tokenizers import Tokenizer

from app.engines.manifest import ModelKind, ModelManifest, OnnxSpec, PoolingMode, write_manifest
from models.simbert.export import (
    OPSET,
    cache_names,
    check_graph,
    export_graph,
    quantize_int8,
)
from models.simbert.unilm import UniLM

log = logging.getLogger(__name__)

GRAPH_FILE = "encoder.onnx"
MAX_LOGIT_DIFF = 1e-3  # fp32 graph vs torch, checked before anything is written


def generator_section(model: UniLM, *, source_max_length: int, sampling: dict[str, Any]) -> dict:
    cfg = model.config
    return {
        "files": [GRAPH_FILE],
        "graph": GRAPH_FILE,
        "inputs": {
            "input_ids": "input_ids",
            "token_type_ids": "token_type_ids",
            "attention_mask": "attention_mask",
            "past": cache_names("past", model.n_layers),
        },
        "outputs": {"logits": "logits", "present": cache_names("present", model.n_layers)},
        "cache": {"layers": model.n_layers, "heads": model.n_heads, "head_dim": model.head_dim},
        "max_positions": int(cfg.max_position_embeddings),
        "max_source_length": int(source_max_length),
        "end_token": "[SEP]",
        "banned_tokens": ["[PAD]", "[UNK]", "[CLS]", "[MASK]"],
        "sampling": dict(sampling),
    }


def write_simbert_folder(
    model: UniLM,
    tokenizer: Tokenizer,
    out: Path,
    *,
    name: str,
    max_length: int = 128,
    source_max_length: int = 32,
    lowercase: bool = True,
    quantize: bool = False,
    sampling: dict[str, Any] | None = None,
    source: dict[str, Any] | None = None,
) -> ModelManifest:
    """Export, check against torch, optionally int8-quantize, and write the manifest."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    model = model.eval()
    fp32 = export_graph(model, out / "graph.fp32.onnx")
    check = check_graph(model, fp32)
    if check.max_abs_logits > MAX_LOGIT_DIFF or check.max_abs_pooled > MAX_LOGIT_DIFF:
        raise RuntimeError(f"exported graph disagrees with torch: {check}")
    log.info("graph check vs torch: %s", check)
    if quantize:
        quantize_int8(fp32, out / GRAPH_FILE)
        fp32.unlink()
    else:
        fp32.replace(out / GRAPH_FILE)
    tokenizer.no_padding()
    tokenizer.no_truncation()
    tokenizer.save(str(out / "tokenizer.json"))
    sampling = sampling or {"top_k": 5, "top_p": None, "temperature": 1.0, "max_new_tokens": 32}
    cfg = model.config
    hidden = int(cfg.hidden_size)
    manifest = ModelManifest(
        name=name,
        kind=ModelKind.SIMBERT,
        architecture=model.architecture.value,
        pooling=PoolingMode.POOLER,
        max_length=min(max_length, int(cfg.max_position_embeddings)),
        hidden_size=hidden,
        dimension=hidden,
        normalize=True,
        lowercase=lowercase,
        onnx=OnnxSpec(
            file=GRAPH_FILE,
            inputs=("input_ids", "attention_mask", "token_type_ids"),
            outputs={"last_hidden_state": "last_hidden_state", "pooler_dense": "pooler_dense"},
            opset=OPSET,
            quantization="int8-dynamic" if quantize else None,
        ),
        generator=generator_section(model, source_max_length=source_max_length, sampling=sampling),
        source={**(source or {}), "graph_check": check.__dict__},
    )
    return write_manifest(out, manifest)
