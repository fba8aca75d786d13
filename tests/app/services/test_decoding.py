"""Request constraint options and the word rule built from a folder's tokenizer and list."""

from __future__ import annotations

import pytest

from app.engines.tokenizer import TextTokenizer
from app.errors import ValidationFailed
from app.generation.constraints import DecodeConstraints
from app.services.decoding import (
    parse_constraints,
    read_word_list,
    step_constraints,
    with_source_words,
    word_rule,
)
from tests.app.generation.tiny_simbert import tiny_tokenizer


@pytest.fixture(scope="module")
def tok(tmp_path_factory) -> TextTokenizer:
    path = tmp_path_factory.mktemp("tok") / "tokenizer.json"
    tiny_tokenizer().save(str(path))
    return TextTokenizer.from_file(path, 64)


def ids(tok, word: str) -> tuple[int, ...]:
    return tuple(tok.encode_plain([word])[0])


def test_parse_constraints_defaults_and_errors_naming_the_field():
    assert parse_constraints(None) == DecodeConstraints()
    assert parse_constraints({"no_repeat_ngram": 0}).no_repeat_ngram == 0
    for options, param in [
        ({"no_repeat_ngram": -2}, "constraints.no_repeat_ngram"),
        ({"words": "no"}, "constraints.words"),
        ({"colour": "red"}, "constraints"),
    ]:
        with pytest.raises(ValidationFailed) as info:
            parse_constraints(options)
        assert info.value.param == param


def test_word_rule_from_vocabulary_list_file_and_source(tok, tmp_path):
    words = tmp_path / "words.txt"
    words.write_text("# training words\nxyz\n\nweathers\n", encoding="utf-8")
    assert read_word_list(words) == ["xyz", "weathers"]
    rule = word_rule(tok, words)
    assert rule.listed == 2
    assert rule.trie.contains(ids(tok, "xyz")) and len(ids(tok, "xyz")) == 3
    assert rule.trie.contains(ids(tok, "cat"))  # a whole-word vocabulary token
    # ... unless the list holds it only as the start of longer words (as "res" of "reset")
    assert not rule.trie.contains(ids(tok, "weather"))
    assert rule.trie.contains(ids(tok, "weathers"))
    assert not rule.trie.contains(ids(tok, "xyzzy"))
    trie = with_source_words(rule, ids(tok, "is xyzzy here")).trie
    assert trie.contains(ids(tok, "xyzzy")) and not rule.trie.contains(ids(tok, "xyzzy"))
    assert with_source_words(rule, ids(tok, "the cat")).trie is rule.trie
    assert with_source_words(rule, ids(tok, "the weather")).trie.contains(ids(tok, "weather"))
    with pytest.raises(ValueError, match="cannot be read"):
        read_word_list(tmp_path / "missing.txt")


def test_step_constraints_only_when_a_step_option_is_on(tok):
    rule = word_rule(tok, None)
    assert rule.listed == 0
    off = DecodeConstraints(words=False, no_repeat_ngram=0, no_repeat_word=False)
    assert step_constraints(rule, tok, "x", off, 4) is None
    steps = step_constraints(rule, tok, "x", DecodeConstraints(words=False), 4)
    assert steps is not None and steps.trie is None and steps.ngram == 3


def test_contractions_come_from_the_list_and_the_source(tok, tmp_path):
    words = tmp_path / "words.txt"
    words.write_text("don't\nit's\ncat\n", encoding="utf-8")
    rule = word_rule(tok, words)
    apostrophe, t, s = (tok.token_to_id(x) for x in ("'", "t", "s"))
    c = rule.contractions
    assert c.apostrophe == apostrophe and set(c.suffixes.tolist()) == {t, s}
    assert c.banned_after(ids(tok, "don")).tolist() == [s]  # "don't", not "don's"
    assert c.banned_after(ids(tok, "it")).tolist() == [t]
    assert set(c.banned_after(ids(tok, "cat")).tolist()) == {s, t}
    more = with_source_words(rule, ids(tok, "the cat's dog")).contractions
    assert more.banned_after(ids(tok, "cat")).tolist() == [t]
    assert with_source_words(rule, ids(tok, "the cat")).contractions is c
    steps = step_constraints(rule, tok, "the cat's", DecodeConstraints(), 2)
    assert steps.contractions is not None and steps.contractions is not c
