"""Export a `UniLM` to one ONNX graph that serves as both encoder and generator.

One graph instead of separate encoder / prefix / step graphs keeps a single copy of the
weights on disk and in memory (the committed demo model must stay under 30 MB):

inputs   input_ids (B,T) int64, token_type_ids (B,T) int64, attention_mask (B,P+T) int64,
         past_key_values (L,2,B,heads,P,D) float32: OPTIONAL, an overridable initializer
         holding an empty cache (P = 0), so the encoder feeds only the first three.
outputs  last_hidden_state (B,T,H), pooler_dense (B,H) over token 0 (no tanh),
         logits (B,V) of the last new token, present_key_values (L,2,B,heads,P+T,D).

The prefix pass feeds `[CLS] text [SEP]` with segment 0 and no cache; each step feeds
one token per row with segment 1 and the previous present: one position per step.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper

from models.simbert.unilm import UniLM

log = logging.getLogger(__name__)

INPUTS = ("input_ids", "token_type_ids", "attention_mask", "past_key_values")
OUTPUTS = ("last_hidden_state", "pooler_dense", "logits", "present_key_values")
OPSET = 17


@dataclass(frozen=True)
class GraphCheck:
    max_abs_logits: float
    max_abs_pooled: float
    max_abs_present: float


def _dummy(model: UniLM, batch: int, past_len: int, length: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    vocab = model.config.vocab_size
    ids = torch.randint(5, vocab, (batch, length), generator=g)
    seg = torch.ones(batch, length, dtype=torch.long) if past_len else torch.zeros_like(ids)
    mask = torch.ones(batch, past_len + length, dtype=torch.long)
    past = torch.randn(
        model.n_layers, 2, batch, model.n_heads, past_len, model.head_dim, generator=g
    )
    return ids, seg, mask, past


def make_cache_optional(path: Path, model: UniLM) -> None:
    """Give `past_key_values` an empty default so encoder callers may leave it out."""
    proto = onnx.load(str(path))
    empty = np.zeros((model.n_layers, 2, 1, model.n_heads, 0, model.head_dim), np.float32)
    proto.graph.initializer.append(numpy_helper.from_array(empty, "past_key_values"))
    onnx.save(proto, str(path))


def export_graph(model: UniLM, path: Path) -> Path:
    """torch -> ONNX (TorchScript exporter, opset 17) with dynamic batch / lengths."""
    model = model.eval()
    path = Path(path)
    dynamic = {
        "input_ids": {0: "batch", 1: "new"},
        "token_type_ids": {0: "batch", 1: "new"},
        "attention_mask": {0: "batch", 1: "total"},
        "past_key_values": {2: "batch", 4: "past"},
        "last_hidden_state": {0: "batch", 1: "new"},
        "pooler_dense": {0: "batch"},
        "logits": {0: "batch"},
        "present_key_values": {2: "batch", 4: "total"},
    }
    with torch.no_grad():
        torch.onnx.export(
            model,
            _dummy(model, 2, 3, 2),
            str(path),
            input_names=list(INPUTS),
            output_names=list(OUTPUTS),
            dynamic_axes=dynamic,
            opset_version=OPSET,
            dynamo=False,
        )
    make_cache_optional(path, model)
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
    worst = np.zeros(3)
    for batch, past_len, length in ((1, 0, 6), (3, 5, 1)):
        ids, seg, mask, past = _dummy(model, batch, past_len, length, seed)
        with torch.no_grad():
            ref = [t.numpy() for t in model.eval()(ids, seg, mask, past)]
        feeds = {
            "input_ids": ids.numpy(),
            "token_type_ids": seg.numpy(),
            "attention_mask": mask.numpy(),
        }
        if past_len:
            feeds["past_key_values"] = past.numpy()
        got = session.run(list(OUTPUTS), feeds)
        diffs = [np.abs(got[i] - ref[i]).max() for i in (2, 1, 3)]
        worst = np.maximum(worst, diffs)
    return GraphCheck(*map(float, worst))
