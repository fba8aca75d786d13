"""Vocabulary trimming for a WordPiece `tokenizer.json` (SimBERT's `keep_tokens`, docs/METHODS.md 3.1).

SimBERT simplified BERT's vocabulary to 13,685 tokens. Here a vocabulary is cut down to
the special tokens, every single-character piece (`x` and `##x`, so any word still
tokenizes, at worst into characters) and the pieces a corpus actually uses. The kept old
ids (in new-id order) select the matching rows of the word embeddings.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from tokenizers import Tokenizer

SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


@dataclass(frozen=True)
class TrimmedVocab:
    tokenizer: Tokenizer
    keep_ids: list[int]  # old id of each new id, in new-id order


def _is_single_char(piece: str) -> bool:
    return len(piece) == 1 or (piece.startswith("##") and len(piece) == 3)


def trim_vocab(tokenizer_json: str, texts: Iterable[str]) -> TrimmedVocab:
    """Keep specials, single-character pieces and every piece used by `texts`."""
    spec = json.loads(tokenizer_json)
    if spec["model"]["type"] != "WordPiece":
        raise ValueError(
            f"vocabulary trimming needs a WordPiece tokenizer, got {spec['model']['type']}"
        )
    source = Tokenizer.from_str(tokenizer_json)
    source.no_padding()
    source.no_truncation()
    vocab: dict[str, int] = spec["model"]["vocab"]
    used: set[int] = set()
    batch: list[str] = []
    for text in texts:
        batch.append(text)
        if len(batch) == 1024:
            used.update(i for enc in source.encode_batch(batch) for i in enc.ids)
            batch = []
    used.update(i for enc in source.encode_batch(batch) for i in enc.ids)
    keep = [vocab[t] for t in SPECIALS if t in vocab]
    keep += sorted(
        i for t, i in vocab.items() if t not in SPECIALS and (_is_single_char(t) or i in used)
    )
    by_old = {i: t for t, i in vocab.items()}
    new_vocab = {by_old[old]: new for new, old in enumerate(keep)}
    spec["model"]["vocab"] = new_vocab
    for added in spec.get("added_tokens", []):
        added["id"] = new_vocab[added["content"]]
    post = spec.get("post_processor") or {}
    for entry in post.get("special_tokens", {}).values():
        entry["ids"] = [new_vocab[t] for t in entry["tokens"]]
    if post.get("type") == "BertProcessing":
        post["sep"] = ["[SEP]", new_vocab["[SEP]"]]
        post["cls"] = ["[CLS]", new_vocab["[CLS]"]]
    if spec.get("padding"):
        spec["padding"]["pad_id"] = new_vocab.get(spec["padding"].get("pad_token", "[PAD]"), 0)
    return TrimmedVocab(Tokenizer.from_str(json.dumps(spec)), keep)
