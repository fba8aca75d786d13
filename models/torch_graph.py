"""The torch side of an export: the graph wrapper and the torch reference pooling.

`EncoderGraph` returns the ONNX outputs by role (docs/ARCHITECTURE.md): last_hidden_state
always, first_layer_hidden_state only for first_last_avg, pooler_dense only for pooler.
`reference_pool` is an independent torch implementation of docs/METHODS.md 1.2, used to check
that ONNX + numpy pooling (the serving path) gives the same vectors. Training code should
pool with it too, so trained and served vectors agree.
"""

from __future__ import annotations

import torch

from app.engines.manifest import OutputRole, PoolingMode

INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")


def output_roles(pooling: PoolingMode) -> tuple[OutputRole, ...]:
    """The graph outputs a pooling mode needs, last_hidden_state first."""
    roles = [OutputRole.LAST_HIDDEN_STATE]
    if pooling is PoolingMode.FIRST_LAST_AVG:
        roles.append(OutputRole.FIRST_LAYER_HIDDEN_STATE)
    if pooling is PoolingMode.POOLER:
        roles.append(OutputRole.POOLER_DENSE)
    return tuple(roles)


def pooler_dense(model: torch.nn.Module) -> torch.nn.Linear:
    """The pretrained NSP pooler's Dense layer (applied WITHOUT its tanh, as in bert4keras)."""
    pooler = getattr(model, "pooler", None)
    dense = getattr(pooler, "dense", None)
    if not isinstance(dense, torch.nn.Linear):
        raise ValueError(f"{type(model).__name__} has no pooler.dense layer: cannot use pooler")
    return dense


class EncoderGraph(torch.nn.Module):
    """Wraps a Hugging Face encoder so its outputs are the roles a pooling mode needs."""

    def __init__(self, model: torch.nn.Module, pooling: PoolingMode, use_token_types: bool = True):
        super().__init__()
        self.model = model
        self.roles = output_roles(pooling)
        self.use_token_types = use_token_types
        self.dense = pooler_dense(model) if OutputRole.POOLER_DENSE in self.roles else None

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, ...]:
        kwargs = {"input_ids": input_ids, "attention_mask": attention_mask}
        if self.use_token_types:
            kwargs["token_type_ids"] = token_type_ids
        want_layers = OutputRole.FIRST_LAYER_HIDDEN_STATE in self.roles
        out = self.model(**kwargs, output_hidden_states=want_layers, return_dict=True)
        last = out.last_hidden_state
        results = [last]
        if want_layers:
            results.append(out.hidden_states[1])  # first encoder layer, not the embeddings
        if self.dense is not None:
            results.append(self.dense(last[:, 0]))
        return tuple(results)


def _masked_mean(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    weights = mask.to(hidden.dtype).unsqueeze(-1)
    return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)


def reference_pool(
    pooling: PoolingMode, outputs: tuple[torch.Tensor, ...], attention_mask: torch.Tensor
) -> torch.Tensor:
    """Pool EncoderGraph outputs in torch.

    outputs: as returned by `EncoderGraph` for this pooling mode; attention_mask (B, T).
    Returns (B, H).
    """
    last = outputs[0]
    if last.ndim != 3 or attention_mask.shape != last.shape[:2]:
        raise ValueError(
            f"need last (B,T,H) and mask (B,T), got {last.shape}, {attention_mask.shape}"
        )
    if pooling is PoolingMode.MEAN:
        return _masked_mean(last, attention_mask)
    if pooling is PoolingMode.CLS:
        return last[:, 0]
    if pooling is PoolingMode.FIRST_LAST_AVG:
        return (_masked_mean(outputs[1], attention_mask) + _masked_mean(last, attention_mask)) / 2
    if pooling is PoolingMode.POOLER:
        return outputs[1]
    raise ValueError(f"unknown pooling mode {pooling!r}")
