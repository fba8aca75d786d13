"""StepConstraints masks on hand-made vocabularies, and DecodeConstraints validation."""

from __future__ import annotations

import numpy as np
import pytest

from app.generation.constraints import (
    ConstraintError,
    DecodeConstraints,
    StepConstraints,
    VocabClasses,
)
from app.generation.words import Contractions, WordTrie, split_words

VOCAB = ["[SEP]", "the", "res", "##et", "pass", "##wo", "##rd", "my", "?", "谢", "a", "b", "c", "-"]
VOCAB += ["'", "t", "s", "don", "i"]
ID = {t: i for i, t in enumerate(VOCAB)}
END = ID["[SEP]"]
CLASSES = VocabClasses.from_tokens(VOCAB, "##")


def ids(*tokens: str) -> np.ndarray:
    return np.array([ID[t] for t in tokens], dtype=np.int64)


def trie() -> WordTrie:
    return WordTrie.build(CLASSES.continuation, [ids("res", "##et"), ids("pass", "##wo", "##rd")])


def feed(state: StepConstraints, *tokens: str, row: int = 0) -> None:
    for t in tokens:
        state.advance(np.array([row]), ids(t), END)


def allowed(state: StepConstraints, row: int = 0) -> set[str]:
    logits = np.zeros((1, len(VOCAB)), dtype=np.float32)
    out = state.mask(logits, np.array([row]))
    return {VOCAB[i] for i in np.flatnonzero(np.isfinite(out[0]))}


HEADS = {t for t in VOCAB if not t.startswith("##")}


def test_vocab_classes():
    assert CLASSES.continuation.tolist() == [t.startswith("##") for t in VOCAB]
    assert CLASSES.repeat_ok[ID["谢"]] and not CLASSES.repeat_ok[ID["the"]]
    assert CLASSES.wordlike[ID["the"]] and CLASSES.wordlike[ID["谢"]]
    assert not CLASSES.wordlike[ID["-"]] and not CLASSES.wordlike[ID["?"]]
    assert not VocabClasses.from_tokens(VOCAB, None).continuation.any()


def test_word_rule_opens_with_a_head_continues_only_into_listed_words_and_ends_complete():
    state = StepConstraints(1, CLASSES, trie())
    assert allowed(state) == HEADS  # no continuation opens a sequence
    feed(state, "res")
    assert allowed(state) == {"##et"}  # "res" alone is no word: no end, no new word
    feed(state, "##et")
    assert allowed(state) == HEADS  # "reset" is complete and goes on into nothing
    feed(state, "pass")
    assert allowed(state) == {"##wo"}
    feed(state, "##wo")
    assert allowed(state) == {"##rd"}


def test_mask_keeps_the_logits_of_allowed_tokens_and_does_not_touch_its_input():
    state = StepConstraints(2, CLASSES, trie())
    feed(state, "pass", row=1)
    logits = np.arange(2 * len(VOCAB), dtype=np.float32).reshape(2, -1)
    before = logits.copy()
    out = state.mask(logits, np.array([0, 1]))
    np.testing.assert_array_equal(logits, before)
    keep = np.isfinite(out)
    np.testing.assert_array_equal(out[keep], logits[keep])
    assert keep[1].sum() == 1 and keep[1, ID["##wo"]]
    with pytest.raises(ValueError, match="len\\(rows\\)"):
        state.mask(logits, np.array([0]))


def test_no_repeat_ngram_bans_the_token_that_repeats_a_generated_trigram():
    state = StepConstraints(1, CLASSES, None, no_repeat_ngram=3)
    feed(state, "a", "b", "c", "a", "b")
    assert "c" not in allowed(state)
    assert {"a", "b", "the"} <= allowed(state)


def test_no_repeat_word_bans_a_word_right_after_itself_multi_token_too():
    words = [ids("pass", "##wo", "##rd"), ids("pass", "##wo", "##et")]
    state = StepConstraints(1, CLASSES, WordTrie.build(CLASSES.continuation, words), 0, True)
    feed(state, "the")
    assert "the" not in allowed(state) and "my" in allowed(state)
    feed(state, "pass", "##wo", "##rd", "pass", "##wo")
    assert allowed(state) == {"##et"}  # "##rd" would make "password password"
    feed(state, "##et", "the", "my")
    assert "my" not in allowed(state) and "the" in allowed(state)


def test_no_repeat_word_looks_across_punctuation():
    state = StepConstraints(1, CLASSES, trie(), no_repeat_word=True)
    feed(state, "the", "-")
    assert not {"the", "-"} & allowed(state)  # "the - the", "- -"
    feed(state, "my")
    assert "the" in allowed(state)
    words = [ids("pass", "##wo", "##rd"), ids("pass", "##wo", "##et")]
    state = StepConstraints(1, CLASSES, WordTrie.build(CLASSES.continuation, words), 0, True)
    feed(state, "pass", "##wo", "##rd", "-", "?", "pass", "##wo")
    assert allowed(state) == {"##et"}


def test_a_soft_ban_that_would_empty_a_row_is_lifted_for_that_row():
    state = StepConstraints(1, CLASSES, trie(), no_repeat_word=True)
    feed(state, "pass", "##wo", "##rd", "pass", "##wo")
    # the word rule allows only "##rd", which would repeat "password": the ban gives way
    assert allowed(state) == {"##rd"}
    plain = StepConstraints(1, CLASSES, None, no_repeat_word=True)
    feed(plain, "pass", "##wo", "##rd", "pass", "##wo")
    assert "##rd" not in allowed(plain)


def test_a_cjk_character_doubles_only_where_the_source_does_and_never_triples():
    state = StepConstraints(
        1, CLASSES, None, no_repeat_word=True, source_repeats=frozenset(ids("谢"))
    )
    feed(state, "谢")
    assert "谢" in allowed(state)
    feed(state, "谢")
    assert "谢" not in allowed(state)
    feed(state, "?", "谢")  # a new run after something else
    assert "谢" in allowed(state)
    plain = StepConstraints(1, CLASSES, None, no_repeat_word=True)  # a source without 谢谢
    feed(plain, "谢")
    assert "谢" not in allowed(plain)
    feed(plain, "?", "a")
    assert "谢" in allowed(plain)


def test_end_token_stops_the_row_and_truncation_drops_an_unfinished_word():
    state = StepConstraints(2, CLASSES, trie())
    feed(state, "my", "pass", "##wo", row=0)
    feed(state, "my", "res", "##et", row=1)
    assert state.complete_length(0) == 1  # "my" kept, "passwo" dropped
    assert state.complete_length(1) == 3
    state.advance(np.array([1]), np.array([END]), END)
    assert state.complete_length(1) == 3


def test_rows_are_independent():
    state = StepConstraints(2, CLASSES, trie(), no_repeat_ngram=2)
    state.advance(np.array([0, 1]), ids("res", "the"), END)
    logits = np.zeros((2, len(VOCAB)), dtype=np.float32)
    out = state.mask(logits, np.array([0, 1]))
    assert np.isfinite(out[0]).sum() == 1
    assert np.isfinite(out[1]).sum() == len(HEADS)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"no_repeat_ngram": -1}, "no_repeat_ngram"),
        ({"no_repeat_ngram": 17}, "no_repeat_ngram"),
        ({"no_repeat_ngram": "3"}, "no_repeat_ngram"),
        ({"no_repeat_ngram": True}, "no_repeat_ngram"),
        ({"words": "yes"}, "words"),
        ({"keep_question": 1}, "keep_question"),
        ({"no_repeat_word": None}, "no_repeat_word"),
    ],
)
def test_bad_options_name_their_field(kwargs, field):
    with pytest.raises(ConstraintError) as info:
        DecodeConstraints(**kwargs)
    assert info.value.field == field and field in str(info.value)


def test_defaults_are_on_and_off_is_plain_sampling():
    on, off = DecodeConstraints(), DecodeConstraints.off()
    assert on.words and on.no_repeat_ngram == 3 and on.no_repeat_word and on.keep_question
    assert on.masks_steps and not off.masks_steps and not off.keep_question


def test_split_words_matches_state_tracking():
    seq = ids("my", "res", "##et", "pass", "##wo", "##rd")
    assert [len(w) for w in split_words(seq, CLASSES.continuation)] == [1, 2, 3]


def test_contraction_suffix_only_after_a_listed_word_and_only_right_after_it():
    entries = [split_words(ids("don", "'", "t"), CLASSES.continuation)]
    entries.append(split_words(ids("pass", "##wo", "##rd", "'", "s"), CLASSES.continuation))
    table = Contractions.build(ID["'"], entries)
    state = StepConstraints(3, CLASSES, trie(), contractions=table)
    feed(state, "don", "'", row=0)
    feed(state, "i", "'", row=1)
    feed(state, "pass", "##wo", "##rd", "'", row=2)
    assert "t" in allowed(state, 0) and "s" not in allowed(state, 0)
    assert not {"t", "s"} & allowed(state, 1) and "the" in allowed(state, 1)  # a quote: free
    assert "s" in allowed(state, 2) and "t" not in allowed(state, 2)
    state = StepConstraints(1, CLASSES, trie(), contractions=table)
    feed(state, "i", "-", "'")
    assert {"t", "s"} <= allowed(state)  # not right after a word: not a contraction
    assert StepConstraints(1, CLASSES, None, contractions=table).contractions is None
