"""A UniLM seq2seq view of a BERT or RoFormer checkpoint, written out explicitly for export.

The attention is spelled out here (instead of calling the HF layer stack) so that one
forward covers every use with the same weights:

- the encoder pass (all segment 0: plain bidirectional BERT, pooler Dense over [CLS], no tanh),
- the decoding prefix pass (`[CLS] text [SEP]`, empty cache) and
- the incremental step (one new token per row + past keys/values),
- training on `[CLS] A [SEP] B [SEP]` under the UniLM mask (docs/METHODS.md 3.1).

UniLM mask ([B4K] `UniLM_Mask`): idx = cumsum(segment_ids); i may attend to j iff
idx_j <= idx_i. Cached positions always precede the new ones, so every new token may
attend to all of them (a target token sees the whole source and all earlier targets).
The HF submodules are reused as-is, so parameters stay shared with the source model.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

import torch
from torch import nn

from app.enums import parse_enum


class Architecture(StrEnum):
    BERT = "bert"
    ROFORMER = "roformer"

    @classmethod
    def parse(cls, value: str) -> Architecture:
        return parse_enum(cls, value, "architecture", verb="unsupported")


def unilm_allowed(token_type_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Boolean UniLM visibility for new tokens over [cache | new] keys.

    Parameters
    ----------
    token_type_ids : (B, T) int64, segment ids of the new tokens.
    attention_mask : (B, P + T) int64, 1 for real keys (cached then new), 0 for padding.

    Returns
    -------
    (B, T, P + T) bool, True where query i may attend to key j.
    """
    batch, length = token_type_ids.shape
    past = attention_mask.shape[1] - length
    cum = torch.cumsum(token_type_ids, dim=1)
    new = cum[:, None, :] <= cum[:, :, None]
    old = torch.ones(batch, length, past, dtype=torch.bool, device=new.device)
    return torch.cat([old, new], dim=2) & (attention_mask[:, None, :] > 0)


def rotary(x: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    """RoFormer's interleaved rotary embedding (HF `apply_rotary_position_embeddings`).

    x : (B, heads, T, D) with D even; positions : (T,) int64. Returns the rotated (B, heads, T, D).
    """
    dim = x.shape[-1]
    inv = torch.pow(10000.0, -torch.arange(0, dim, 2, dtype=torch.float32, device=x.device) / dim)
    angles = positions.to(torch.float32)[:, None] * inv[None, :]  # (T, D/2)
    sin = torch.stack([torch.sin(angles), torch.sin(angles)], dim=-1).flatten(-2)
    cos = torch.stack([torch.cos(angles), torch.cos(angles)], dim=-1).flatten(-2)
    rotated = torch.stack([-x[..., 1::2], x[..., ::2]], dim=-1).flatten(-2)
    return x * cos + rotated * sin


class LMHead(nn.Module):
    """MLM transform (Dense, act, LayerNorm) then logits against the tied word embeddings."""

    def __init__(self, hidden: int, embedding: nn.Embedding, act: nn.Module, eps: float):
        super().__init__()
        width = embedding.weight.shape[1]
        self.dense = nn.Linear(hidden, width)
        self.act = act
        self.norm = nn.LayerNorm(width, eps=eps)
        self.embedding = embedding  # shared, not copied: the head is tied
        self.bias = nn.Parameter(torch.zeros(embedding.weight.shape[0]))

    def init_identity(self) -> None:
        """Start from an identity transform when the checkpoint has no MLM head."""
        with torch.no_grad():
            if self.dense.weight.shape[0] == self.dense.weight.shape[1]:
                self.dense.weight.copy_(torch.eye(self.dense.weight.shape[0]))
            self.dense.bias.zero_()

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        h = self.norm(self.act(self.dense(hidden)))
        return torch.matmul(h, self.embedding.weight.t()) + self.bias


class UniLM(nn.Module):
    """BERT/RoFormer + linear pooler + tied LM head under the UniLM mask, with a KV cache.

    `base` is an HF `BertModel` or `RoFormerModel`; `pooler` the Dense over [CLS] (no tanh).
    """

    def __init__(
        self, architecture: Architecture, base: nn.Module, pooler: nn.Linear, head: LMHead
    ):
        super().__init__()
        self.architecture = Architecture.parse(architecture)
        self.base = base
        self.pooler = pooler
        self.head = head
        cfg = base.config
        self.n_layers = cfg.num_hidden_layers
        self.n_heads = cfg.num_attention_heads
        self.head_dim = cfg.hidden_size // cfg.num_attention_heads
        self.rotary_value = bool(getattr(cfg, "rotary_value", False))

    @property
    def config(self):
        return self.base.config

    def embed(self, input_ids: torch.Tensor, token_type_ids: torch.Tensor, positions: torch.Tensor):
        emb = self.base.embeddings
        x = emb.word_embeddings(input_ids) + emb.token_type_embeddings(token_type_ids)
        if self.architecture is Architecture.BERT:
            x = x + emb.position_embeddings(positions)[None]
        x = emb.dropout(emb.LayerNorm(x))
        if hasattr(self.base, "embeddings_project"):
            x = self.base.embeddings_project(x)
        return x

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        b, t, _ = x.shape
        return x.view(b, t, self.n_heads, self.head_dim).transpose(1, 2)

    def hidden(
        self,
        input_ids: torch.Tensor,
        token_type_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        past: Sequence[torch.Tensor] | None = None,
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Last hidden states of the new tokens and the updated cache.

        input_ids, token_type_ids : (B, T) int64; attention_mask : (B, P + T) int64;
        past : 2L tensors ``[key_0, value_0, key_1, ...]``, each (B, heads, P, D) float32,
        or None (P = 0). Returns (B, T, hidden) and present: 2L tensors (B, heads, P + T, D).
        One tensor per layer and role, so a decoding step copies each cache once (its
        concat) instead of splitting and re-stacking one packed tensor.
        """
        batch, length = input_ids.shape
        if past is None:
            empty = torch.zeros(batch, self.n_heads, 0, self.head_dim)
            past = [empty] * (2 * self.n_layers)
        if len(past) != 2 * self.n_layers:
            raise ValueError(f"past needs {2 * self.n_layers} tensors, got {len(past)}")
        start = past[0].shape[2]
        positions = torch.arange(length, device=input_ids.device) + start
        allowed = unilm_allowed(token_type_ids, attention_mask)[:, None]  # (B, 1, T, P+T)
        bias = torch.where(allowed, 0.0, torch.finfo(torch.float32).min)
        x = self.embed(input_ids, token_type_ids, positions)
        presents: list[torch.Tensor] = []
        for i, layer in enumerate(self.base.encoder.layer):
            att = layer.attention.self
            q = self._heads(att.query(x))
            k = self._heads(att.key(x))
            v = self._heads(att.value(x))
            if self.architecture is Architecture.ROFORMER:
                q, k = rotary(q, positions), rotary(k, positions)
                if self.rotary_value:
                    v = rotary(v, positions)
            k = torch.cat([past[2 * i], k], dim=2)
            v = torch.cat([past[2 * i + 1], v], dim=2)
            presents += [k, v]
            scores = torch.matmul(q, k.transpose(-1, -2)) / (self.head_dim**0.5) + bias
            probs = att.dropout(torch.softmax(scores, dim=-1))
            ctx = torch.matmul(probs, v).transpose(1, 2).reshape(batch, length, -1)
            x = layer.attention.output(ctx, x)
            x = layer.output(layer.intermediate(x), x)
        return x, presents

    def forward(self, input_ids, token_type_ids, attention_mask, *past):
        """The exported graph: (last_hidden_state, pooler_dense, logits of the last new token,
        present key_0, present value_0, ...); `past` as in `hidden` (none given: P = 0)."""
        hidden, present = self.hidden(
            input_ids, token_type_ids, attention_mask, list(past) if past else None
        )
        pooled = self.pooler(hidden[:, 0])
        logits = self.head(hidden[:, -1])
        return (hidden, pooled, logits, *present)
