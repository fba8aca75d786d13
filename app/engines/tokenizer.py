"""Tokenization with `tokenizers`: truncation we control, padding to a few fixed buckets.

The bundled `tokenizer.json` of many models pads every input to a fixed length (a known
pitfall); padding is disabled here and done by `pad_batch` to the next bucket instead, so
onnxruntime sees a small set of shapes and its memory arenas stop growing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer


@dataclass(frozen=True)
class TokenizedText:
    ids: np.ndarray  # (n,) int64, includes [CLS]/[SEP]
    n_tokens: int
    truncated: bool
    special_mask: np.ndarray  # (n,) bool, True for [CLS]/[SEP]/other special tokens


@dataclass(frozen=True)
class PaddedBatch:
    input_ids: np.ndarray  # (B, T) int64
    attention_mask: np.ndarray  # (B, T) int64
    token_type_ids: np.ndarray  # (B, T) int64, all zeros (segment 0)


class TextTokenizer:
    def __init__(self, tokenizer: Tokenizer, max_length: int, pad_id: int):
        self._tok = tokenizer
        self.max_length = max_length
        self.pad_id = pad_id
        self._tok.no_padding()
        self._tok.enable_truncation(max_length=max_length)

    @classmethod
    def from_file(cls, path: Path, max_length: int) -> TextTokenizer:
        tok = Tokenizer.from_file(str(path))
        pad_id = tok.token_to_id("[PAD]")
        if pad_id is None:
            pad_id = tok.token_to_id("<pad>") or 0
        return cls(tok, max_length, pad_id)

    def token_to_id(self, token: str) -> int | None:
        return self._tok.token_to_id(token)

    def vocabulary(self) -> list[str]:
        """Every token, indexed by id (ids missing from the vocabulary map to "")."""
        vocab = self._tok.get_vocab(with_added_tokens=True)
        out = [""] * (max(vocab.values()) + 1 if vocab else 0)
        for token, i in vocab.items():
            out[i] = token
        return out

    def continuation_prefix(self) -> str | None:
        """The WordPiece continuation prefix (`##`); None for other tokenizer models."""
        return getattr(self._tok.model, "continuing_subword_prefix", None) or None

    def encode_plain(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text without special tokens (word lists, not model inputs)."""
        return [enc.ids for enc in self._tok.encode_batch(list(texts), add_special_tokens=False)]

    def decode(self, ids: Sequence[int]) -> str:
        return self._tok.decode(list(ids), skip_special_tokens=True)

    def word_pieces(self, tokenized: TokenizedText) -> list[str]:
        """The token strings of one tokenized text, special tokens left out: the rows of the
        encoder's token vectors (`EncodedText.token_vectors`) in order."""
        keep = ~tokenized.special_mask[: tokenized.n_tokens]
        ids = tokenized.ids[: tokenized.n_tokens][keep]
        return [self._tok.id_to_token(int(i)) or "[UNK]" for i in ids]

    def tokenize(self, texts: Sequence[str]) -> list[TokenizedText]:
        """Tokenize each text alone (segment 0), truncated to max_length tokens."""
        encodings = self._tok.encode_batch(list(texts), add_special_tokens=True)
        out = []
        for enc in encodings:
            ids = np.asarray(enc.ids, dtype=np.int64)
            out.append(
                TokenizedText(
                    ids=ids,
                    n_tokens=len(ids),
                    truncated=bool(enc.overflowing),
                    special_mask=np.asarray(enc.special_tokens_mask, dtype=bool),
                )
            )
        return out


def bucket_length(n: int, buckets: Sequence[int], max_length: int) -> int:
    """Smallest bucket >= n, never past max_length; n itself if n exceeds max_length."""
    for b in sorted(buckets):
        if b >= n:
            return min(b, max(max_length, n))
    return max(n, max_length)


def pad_batch(
    items: Sequence[TokenizedText], pad_id: int, buckets: Sequence[int], max_length: int
) -> PaddedBatch:
    """Right-pad to the bucket of the longest item. Returns (B, T) int64 arrays."""
    if not items:
        raise ValueError("pad_batch needs at least one item")
    longest = max(t.n_tokens for t in items)
    width = bucket_length(longest, buckets, max_length)
    ids = np.full((len(items), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(items), width), dtype=np.int64)
    for row, item in enumerate(items):
        ids[row, : item.n_tokens] = item.ids
        mask[row, : item.n_tokens] = 1
    return PaddedBatch(ids, mask, np.zeros_like(ids))
