"""One served encoder: tokenizer + onnxruntime session + pooling + optional whitening.

`Encoder.run` is the compute step the batcher calls on its own thread; it is synchronous
and thread-confined. Everything request-shaped (limits, normalisation flags) is above it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.engines.backend import BackendKind
from app.engines.manifest import ModelManifest, OutputRole, read_manifest
from app.engines.pooling import pool
from app.engines.session import create_session
from app.engines.tokenizer import TextTokenizer, TokenizedText, pad_batch
from app.engines.whitening import WhiteningTransform, apply_whitening, load_whitening
from app.settings import BatcherSettings, ModelSettings


@dataclass(frozen=True)
class EncodedText:
    vector: np.ndarray  # (dimension,) float32: pooled, whitened if the model is; NOT normalised
    token_vectors: np.ndarray | None  # (n_words, hidden) float32 last layer, no specials/padding


@dataclass(frozen=True)
class EncodeRequest:
    """One text for the batcher: its tokens and whether token vectors are wanted back."""

    tokens: TokenizedText
    want_tokens: bool = False


def empty_cache_inputs(session, fed: Sequence[str], folder: Path) -> list[tuple[str, tuple]]:
    """The graph inputs the manifest does not feed: a generator graph's key/value caches
    ((batch, heads, past, head_dim) float), which an encoder pass feeds empty (past = 0).

    Returns (name, shape without the batch axis, symbolic axes as 0); anything else unfed is
    a ValueError at load time rather than a failure on the first request."""
    out = []
    for arg in session.get_inputs():
        if arg.name in fed:
            continue
        if arg.type != "tensor(float)" or len(arg.shape) < 2:
            raise ValueError(f"{folder}: ONNX graph input {arg.name!r} ({arg.type}) is not fed")
        out.append((arg.name, tuple(d if isinstance(d, int) else 0 for d in arg.shape[1:])))
    return out


class Encoder:
    """The encoder backend (`app.engines.backend.ModelBackend`): `load`, `warmup`, `run`."""

    kind = BackendKind.ENCODER

    def __init__(
        self, folder: Path, manifest: ModelManifest, models: ModelSettings, batcher: BatcherSettings
    ):
        self.folder = Path(folder)
        self.manifest = manifest
        self.buckets = batcher.buckets
        self.tokenizer = TextTokenizer.from_file(
            self.folder / manifest.tokenizer_file, manifest.max_length
        )
        self.session = create_session(
            self.folder / manifest.onnx.file,
            models.device,
            models.intra_op_threads,
            models.inter_op_threads,
            models.allow_spinning,
        )
        self.whitening: WhiteningTransform | None = (
            load_whitening(self.folder / manifest.whitening.file) if manifest.whitening else None
        )
        session_inputs = {i.name for i in self.session.get_inputs()}
        missing = set(manifest.onnx.inputs) - session_inputs
        if missing:
            raise ValueError(f"{folder}: ONNX graph lacks inputs {sorted(missing)}")
        self._empty_inputs = empty_cache_inputs(self.session, manifest.onnx.inputs, folder)
        self._output_names = dict(manifest.onnx.outputs)  # role -> onnx output name

    @classmethod
    def load(cls, folder: Path, models: ModelSettings, batcher: BatcherSettings) -> Encoder:
        return cls(folder, read_manifest(folder, verify=models.verify_checksums), models, batcher)

    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def providers(self) -> list[str]:
        return self.session.get_providers()

    def warmup(self, max_tokens: int = 128) -> None:
        """Run once per bucket up to `max_tokens` so first requests pay no set-up."""
        limit = min(max_tokens, self.manifest.max_length)
        for width in [b for b in self.buckets if b <= limit]:
            text = " ".join(["warm"] * max(width - 2, 1))
            self.run([EncodeRequest(t) for t in self.tokenize([text])])

    def tokenize(self, texts: Sequence[str]) -> list[TokenizedText]:
        return self.tokenizer.tokenize(texts)

    def forward(self, items: Sequence[TokenizedText]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Run the graph on one padded batch. Returns (attention_mask (B,T), outputs by role)."""
        batch = pad_batch(items, self.tokenizer.pad_id, self.buckets, self.manifest.max_length)
        feeds_all = {
            "input_ids": batch.input_ids,
            "attention_mask": batch.attention_mask,
            "token_type_ids": batch.token_type_ids,
        }
        feeds = {name: feeds_all[name] for name in self.manifest.onnx.inputs}
        n = batch.input_ids.shape[0]
        feeds.update(
            (name, np.zeros((n, *shape), np.float32)) for name, shape in self._empty_inputs
        )
        roles = list(self._output_names)
        values = self.session.run([self._output_names[r] for r in roles], feeds)
        return batch.attention_mask, dict(zip(roles, values, strict=True))

    def pooled(self, mask: np.ndarray, outputs: dict[str, np.ndarray]) -> np.ndarray:
        """(B, hidden) pooled vectors per the manifest's pooling mode (shared with fitting)."""
        return pool(
            self.manifest.pooling,
            mask,
            outputs[OutputRole.LAST_HIDDEN_STATE.value],
            outputs.get(OutputRole.FIRST_LAYER_HIDDEN_STATE.value),
            outputs.get(OutputRole.POOLER_DENSE.value),
        )

    def run(self, requests: Sequence[EncodeRequest]) -> list[EncodedText]:
        """Encode one batch: pooled (+ whitened) vectors, and token vectors where asked."""
        items = [r.tokens for r in requests]
        mask, outputs = self.forward(items)
        vectors = self.pooled(mask, outputs)
        if self.whitening is not None:
            vectors = apply_whitening(vectors, self.whitening)
        last = outputs[OutputRole.LAST_HIDDEN_STATE.value]
        results = []
        for row, req in enumerate(requests):
            tokens = None
            if req.want_tokens:
                n = req.tokens.n_tokens
                keep = ~req.tokens.special_mask[:n]
                tokens = np.ascontiguousarray(last[row, :n][keep], dtype=np.float32)
            results.append(EncodedText(vectors[row], tokens))
        return results
