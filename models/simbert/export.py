"""Export a `UniLM` to one ONNX graph that serves as both encoder and generator.

One graph instead of separate encoder / prefix / step graphs keeps a single copy of the
weights on disk and in memory (the committed demo model must stay under 30 MB):

inputs   input_ids (B,T) int64, token_type_ids (B,T) int64, attention_mask (B,P+T) int64,
         past_key.{i}, past_value.{i} (B,heads,P,D) float32 for each layer i; the encoder
         and the prefix pass feed them empty (P = 0; `app.engines.encoder` does so).
outputs  last_hidden_state (B,T,H), pooler_dense (B,H) over token 0 (no tanh),
         logits (B,V) of the last new token, present_key.{i}, present_value.{i}
         (B,heads,P+T,D).

The prefix pass feeds `[CLS] text [SEP]` with segment 0 and an empty cache; each step feeds
one token per row with segment 1 and the previous present: one position per step. One
tensor per layer and role (not one packed cache): a step then copies each cache once, in
its concat; the packed layout spent 60% of a step splitting, expanding and re-stacking it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from models.simbert.unilm import UniLM

log = logging.getLogger(__name__)

INPUTS = ("input_ids", "token_type_ids", "attention_mask")
OUTPUTS = ("last_hidden_state", "pooler_dense", "logits")
OPSET = 17


def cache_names(prefix: str, layers: int) -> list[str]:
    """`{prefix}_key.0, {prefix}_value.0, ...` in the graph's order (prefix past/present)."""
    return [f"{prefix}_{role}.{i}" for i in range(layers) for role in ("key", "value")]


@dataclass(frozen=True)
class GraphCheck:
    max_abs_logits: float
    max_abs_pooled: float
    max_abs_present: float


def _dummy(model: UniLM, batch: int, past_len: int, length: int, seed: int = 0):
    """(ids, seg, mask, past) with past a list of 2L (batch, heads, past_len, D) tensors."""
    g = torch.Generator().manual_seed(seed)
    vocab = model.config.vocab_size
    ids = torch.randint(5, vocab, (batch, length), generator=g)
    seg = torch.ones(batch, length, dtype=torch.long) if past_len else torch.zeros_like(ids)
    mask = torch.ones(batch, past_len + length, dtype=torch.long)
    shape = (batch, model.n_heads, past_len, model.head_dim)
    past = [torch.randn(*shape, generator=g) for _ in range(2 * model.n_layers)]
    return ids, seg, mask, past


def export_graph(model: UniLM, path: Path) -> Path:
    """torch -> ONNX (TorchScript exporter, opset 17) with dynamic batch / lengths."""
    model = model.eval()
    path = Path(path)
    past, present = cache_names("past", model.n_layers), cache_names("present", model.n_layers)
    dynamic = {
        "input_ids": {0: "batch", 1: "new"},
        "token_type_ids": {0: "batch", 1: "new"},
        "attention_mask": {0: "batch", 1: "total"},
        "last_hidden_state": {0: "batch", 1: "new"},
        "pooler_dense": {0: "batch"},
        "logits": {0: "batch"},
        **{name: {0: "batch", 2: "past"} for name in past},
        **{name: {0: "batch", 2: "total"} for name in present},
    }
    ids, seg, mask, cache = _dummy(model, 2, 3, 2)
    with torch.no_grad():
        torch.onnx.export(
            model,
            (ids, seg, mask, *cache),
            str(path),
            input_names=[*INPUTS, *past],
            output_names=[*OUTPUTS, *present],
            dynamic_axes=dynamic,
            opset_version=OPSET,
            dynamo=False,
        )
    return path


def quantize_int8(src: Path, dst: Path) -> Path:
    """Dynamic int8 quantization of weights (MatMul and Gather)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8)
    return Path(dst)


def check_graph(model: UniLM, path: Path, *, seed: int = 0) -> GraphCheck:
    """Compare the ONNX graph with torch on a prefix pass and a cached step (random data)."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    past_names = cache_names("past", model.n_layers)
    worst = np.zeros(3)
    for batch, past_len, length in ((1, 0, 6), (3, 5, 1)):
        ids, seg, mask, past = _dummy(model, batch, past_len, length, seed)
        with torch.no_grad():
            ref = [t.numpy() for t in model.eval()(ids, seg, mask, *past)]
        feeds = {
            "input_ids": ids.numpy(),
            "token_type_ids": seg.numpy(),
            "attention_mask": mask.numpy(),
            **{name: t.numpy() for name, t in zip(past_names, past, strict=True)},
        }
        got = session.run(None, feeds)
        present = max(np.abs(a - b).max() for a, b in zip(got[3:], ref[3:], strict=True))
        diffs = [np.abs(got[2] - ref[2]).max(), np.abs(got[1] - ref[1]).max(), present]
        worst = np.maximum(worst, diffs)
    return GraphCheck(*map(float, worst))
