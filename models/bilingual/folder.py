"""Write an extended copy of a sentence-transformers folder (vocabulary, tokenizer, weights)."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file

from app.errors import InvalidInput
from models.bilingual.vocab import choose_new_tokens, count_new_characters, new_embedding_rows
from models.folders import staged_folder

WEIGHTS = "model.safetensors"
EMBEDDING_KEYS = ("embeddings.word_embeddings.weight", "bert.embeddings.word_embeddings.weight")
RECORD = "extend_vocab.json"


@dataclass(frozen=True)
class ExtensionRecord:
    """What `extend-vocab` did, written beside the weights and copied into the manifest."""

    source: str
    old_vocab_size: int
    new_vocab_size: int
    added: int
    min_count: int
    seed: int
    normalization: str
    texts: int
    texts_sha256: str


def texts_digest(texts: Sequence[str]) -> str:
    """sha256 over the texts in order (one line each): which corpus defined the vocabulary."""
    digest = hashlib.sha256()
    for text in texts:
        digest.update(text.encode("utf-8") + b"\n")
    return digest.hexdigest()


def _embedding_key(weights: dict[str, np.ndarray], folder: Path) -> str:
    for key in EMBEDDING_KEYS:
        if key in weights:
            return key
    raise InvalidInput(f"{folder / WEIGHTS} has no word-embedding matrix ({EMBEDDING_KEYS})")


def tokenizer_vocab(folder: Path) -> dict[str, int]:
    """The WordPiece vocabulary of `folder/tokenizer.json`; ids must be 0..V-1."""
    data = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
    vocab = data["model"].get("vocab")
    if data["model"].get("type") != "WordPiece" or not vocab:
        raise InvalidInput(f"{folder}/tokenizer.json is not a WordPiece tokenizer")
    if sorted(vocab.values()) != list(range(len(vocab))):
        raise InvalidInput(f"{folder}/tokenizer.json: vocabulary ids are not 0..{len(vocab) - 1}")
    return vocab


def _extended_tokenizer(source: Path, added: list[str], old_size: int) -> dict:
    """The source tokenizer.json with the new pieces appended and NFKC before BERT's steps."""
    data = json.loads((source / "tokenizer.json").read_text(encoding="utf-8"))
    vocab = data["model"]["vocab"]
    for offset, token in enumerate(added):
        vocab[token] = old_size + offset
    bert = data["normalizer"]
    if bert is None or bert.get("type") != "BertNormalizer":
        raise InvalidInput(f"{source}/tokenizer.json: expected a BertNormalizer, got {bert}")
    data["normalizer"] = {"type": "Sequence", "normalizers": [{"type": "NFKC"}, bert]}
    data["padding"] = None
    data["truncation"] = None
    return data


def extend_folder(
    source: Path,
    out: Path,
    texts: Sequence[str],
    *,
    min_count: int = 1,
    seed: int = 0,
    overwrite: bool = False,
) -> ExtensionRecord:
    """Copy the sentence-transformers folder `source` to `out` with CJK characters added.

    The copy is written in a staging folder and renamed into place, so `out` is either the
    old folder or the complete new one. Raises InvalidInput when `out` exists (unless
    `overwrite`) or the source lacks vocab.txt / tokenizer.json / model.safetensors.
    """
    source, out = Path(source), Path(out)
    for name in ("tokenizer.json", WEIGHTS, "config.json"):
        if not (source / name).is_file():
            raise InvalidInput(f"{source} lacks {name}")
    if out.exists() and not overwrite:
        raise InvalidInput(f"{out} already exists; pass --overwrite to replace it")
    vocab = tokenizer_vocab(source)
    old_size = len(vocab)
    added = choose_new_tokens(count_new_characters(texts, vocab), min_count)

    with staged_folder(out) as staging:
        shutil.copytree(source, staging, dirs_exist_ok=True)
        tokens = sorted(vocab, key=vocab.__getitem__) + added
        (staging / "vocab.txt").write_text("".join(t + "\n" for t in tokens), "utf-8")
        tokenizer = _extended_tokenizer(source, added, old_size)
        (staging / "tokenizer.json").write_text(json.dumps(tokenizer, ensure_ascii=False), "utf-8")

        weights = load_file(str(source / WEIGHTS))
        key = _embedding_key(weights, source)
        old_rows = weights[key]
        if old_rows.shape[0] != old_size:
            raise InvalidInput(
                f"{source}: {old_rows.shape[0]} embedding rows for {old_size} tokens"
            )
        extra = new_embedding_rows(old_rows, len(added), seed)
        weights[key] = np.ascontiguousarray(np.concatenate([old_rows, extra]))
        save_file(weights, str(staging / WEIGHTS), metadata={"format": "pt"})

        config = json.loads((source / "config.json").read_text(encoding="utf-8"))
        config["vocab_size"] = old_size + len(added)
        (staging / "config.json").write_text(json.dumps(config, indent=2) + "\n", "utf-8")

        record = ExtensionRecord(
            source=str(source),
            old_vocab_size=old_size,
            new_vocab_size=old_size + len(added),
            added=len(added),
            min_count=min_count,
            seed=seed,
            normalization="NFKC, then BertNormalizer (lowercase, CJK split)",
            texts=len(texts),
            texts_sha256=texts_digest(texts),
        )
        (staging / RECORD).write_text(json.dumps(asdict(record), indent=2) + "\n", "utf-8")
    return record
