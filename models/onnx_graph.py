"""torch -> ONNX (TorchScript exporter, opset 17) and onnxruntime's transformer fusion."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import torch

from models.torch_graph import EncoderGraph

log = logging.getLogger(__name__)

# model_type -> onnxruntime.transformers optimizer family (BERT-like attention blocks)
_FUSABLE = {"bert": "bert", "roberta": "bert", "xlm-roberta": "bert", "electra": "bert"}


def export_onnx(graph: EncoderGraph, path: Path, opset: int = 17) -> dict[str, str]:
    """Write the graph with dynamic batch and sequence axes. Returns {role: output name}.

    Eager attention + the TorchScript exporter: SDPA exports get no Attention fusion from
    onnxruntime's optimizer (docs/METHODS.md 7.4).
    """
    ids = torch.tensor([[2, 5, 6, 7, 3, 0], [2, 5, 3, 0, 0, 0]], dtype=torch.long)
    mask = (ids != 0).long()
    types = torch.zeros_like(ids)
    names = [r.value for r in graph.roles]
    inputs = ["input_ids", "attention_mask"] + (["token_type_ids"] if graph.use_token_types else [])
    args = (ids, mask, types) if graph.use_token_types else (ids, mask)
    axes = {n: {0: "batch", 1: "sequence"} for n in inputs}
    for n in names:
        axes[n] = {0: "batch"} if n == "pooler_dense" else {0: "batch", 1: "sequence"}
    with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            graph,
            args,
            str(path),
            input_names=inputs,
            output_names=names,
            dynamic_axes=axes,
            opset_version=opset,
            do_constant_folding=True,
            dynamo=False,
        )
    return {n: n for n in names}


def optimize_onnx(src: Path, dst: Path, config) -> bool:
    """Fuse attention/LayerNorm/GELU with onnxruntime.transformers. False if not applicable."""
    family = _FUSABLE.get(str(getattr(config, "model_type", "")))
    if family is None:
        log.info("no transformer fusion for model_type %s", getattr(config, "model_type", "?"))
        return False
    from onnxruntime.transformers.optimizer import optimize_model

    try:
        model = optimize_model(
            str(src),
            model_type=family,
            num_heads=int(config.num_attention_heads),
            hidden_size=int(config.hidden_size),
        )
        model.save_model_to_file(str(dst))
    except Exception as exc:  # fusion is an optimisation: fall back to the plain graph
        log.warning("transformer fusion failed (%s); keeping the unfused graph", exc)
        dst.unlink(missing_ok=True)
        return False
    return True
