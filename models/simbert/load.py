"""Build a `UniLM` from a Hugging Face BERT / RoFormer checkpoint folder.

The sentence encoder is the base model plus the pooler Dense (no tanh). The LM head is
the checkpoint's MLM head (`cls.predictions.*`) when present; otherwise a fresh head
tied to the word embeddings, its transform started at identity (issue 4 item 4).
RoFormer has no pooler in `transformers`; a `*pooler.dense.*` tensor in the checkpoint is
used when present, else the pooler starts at identity (logged).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import torch
from torch import nn
from transformers import BertConfig, BertModel, RoFormerConfig, RoFormerModel
from transformers.activations import ACT2FN

from models.simbert.unilm import Architecture, LMHead, UniLM

log = logging.getLogger(__name__)

HEAD_PREFIX = "cls.predictions."


def read_state_dict(folder: Path) -> dict[str, torch.Tensor]:
    """Every tensor of the checkpoint in `folder` (safetensors or pytorch_model.bin)."""
    folder = Path(folder)
    state: dict[str, torch.Tensor] = {}
    for path in sorted(folder.glob("*.safetensors")):
        from safetensors.torch import load_file

        state.update(load_file(str(path)))
    if not state and (folder / "pytorch_model.bin").exists():
        state = torch.load(folder / "pytorch_model.bin", map_location="cpu", weights_only=True)
    if not state:
        raise ValueError(f"{folder}: no *.safetensors or pytorch_model.bin")
    return state


def _find(state: dict[str, torch.Tensor], suffix: str) -> torch.Tensor | None:
    hits = [k for k in state if k == suffix or k.endswith("." + suffix)]
    return state[hits[0]] if hits else None


def assemble(architecture: Architecture, base: nn.Module, state: dict[str, torch.Tensor]) -> UniLM:
    """Attach pooler and LM head (from `state` where it has them) to an HF base model."""
    cfg = base.config
    hidden = cfg.hidden_size
    pooler = nn.Linear(hidden, hidden)
    weight, bias = _find(state, "pooler.dense.weight"), _find(state, "pooler.dense.bias")
    if weight is not None and bias is not None:
        with torch.no_grad():
            pooler.weight.copy_(weight)
            pooler.bias.copy_(bias)
    else:
        log.warning("checkpoint has no pooler.dense: starting the pooler at identity")
        with torch.no_grad():
            pooler.weight.copy_(torch.eye(hidden))
            pooler.bias.zero_()
    act = ACT2FN[cfg.hidden_act] if isinstance(cfg.hidden_act, str) else cfg.hidden_act
    head = LMHead(hidden, base.embeddings.word_embeddings, act, cfg.layer_norm_eps)
    names = {
        "dense.weight": "transform.dense.weight",
        "dense.bias": "transform.dense.bias",
        "norm.weight": "transform.LayerNorm.weight",
        "norm.bias": "transform.LayerNorm.bias",
        "bias": "bias",
    }
    found = {mine: state.get(HEAD_PREFIX + theirs) for mine, theirs in names.items()}
    if all(v is not None for v in found.values()):
        head.load_state_dict(
            {**found, "embedding.weight": base.embeddings.word_embeddings.weight.detach()}
        )
    else:
        log.warning("checkpoint has no MLM head: new head tied to the word embeddings")
        head.init_identity()
    return UniLM(architecture, base, pooler, head)


def load_unilm(folder: Path) -> UniLM:
    """Load a BERT or RoFormer checkpoint folder (config.json + weights) as a `UniLM`."""
    folder = Path(folder)
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    arch = Architecture.parse(config.get("model_type", "bert"))
    state = read_state_dict(folder)
    if arch is Architecture.BERT:
        cfg = BertConfig.from_pretrained(folder)
        base = BertModel.from_pretrained(folder, config=cfg, add_pooling_layer=False)
    else:
        cfg = RoFormerConfig.from_pretrained(folder)
        base = RoFormerModel.from_pretrained(folder, config=cfg)
    return assemble(arch, base, state)


def shrink_vocab(model: UniLM, keep_ids: list[int]) -> UniLM:
    """Keep only `keep_ids` rows of the (tied) word embeddings and LM bias, in that order."""
    index = torch.as_tensor(keep_ids, dtype=torch.long)
    emb = model.base.embeddings.word_embeddings
    with torch.no_grad():
        emb.weight = nn.Parameter(emb.weight[index].clone())
        model.head.bias = nn.Parameter(model.head.bias[index].clone())
    emb.num_embeddings = len(keep_ids)
    emb.padding_idx = None
    model.base.config.vocab_size = len(keep_ids)
    return model
