"""Vocabulary trimming keeps specials, single characters and the pieces a corpus uses."""

from __future__ import annotations

import pytest

from models.simbert.vocab import trim_vocab
from tests.app.generation.tiny_simbert import tiny_tokenizer

CORPUS = ["the cat is big", "how is the weather today"]


def test_kept_pieces_tokenize_the_corpus_identically():
    source = tiny_tokenizer()
    trimmed = trim_vocab(source.to_str(), CORPUS)
    new = trimmed.tokenizer
    assert [new.id_to_token(i) for i in range(5)] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    for text in CORPUS:
        assert new.encode(text).tokens == source.encode(text).tokens
        old_ids = source.encode(text).ids
        assert [trimmed.keep_ids[i] for i in new.encode(text).ids] == old_ids
    assert new.get_vocab_size() < source.get_vocab_size()
    assert "dog" not in new.get_vocab() and "cat" in new.get_vocab()


def test_unused_words_fall_back_to_characters_not_unk():
    trimmed = trim_vocab(tiny_tokenizer().to_str(), CORPUS).tokenizer
    tokens = trimmed.encode("dog").tokens
    assert tokens == ["[CLS]", "d", "##o", "##g", "[SEP]"]


def test_non_wordpiece_is_rejected():
    spec = (
        tiny_tokenizer()
        .to_str()
        .replace('"type":"WordPiece","unk_token"', '"type":"BPE","unk_token"')
    )
    with pytest.raises(ValueError, match="WordPiece"):
        trim_vocab(spec, CORPUS)
