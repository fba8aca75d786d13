"""WordTrie: which continuations may follow, when a word may end, copy-on-extend."""

from __future__ import annotations

import numpy as np

from app.generation.words import LEAF, WordTrie, split_words

VOCAB = ["[PAD]", "[SEP]", "res", "##et", "pass", "##wo", "##rd", "my", "?", "##s", "set"]
ID = {t: i for i, t in enumerate(VOCAB)}
CONT = np.array([t.startswith("##") for t in VOCAB])


def ids(*tokens: str) -> tuple[int, ...]:
    return tuple(ID[t] for t in tokens)


def test_split_words_cuts_at_heads_and_drops_leading_continuations():
    seq = ids("##s", "res", "##et", "my", "pass", "##wo", "##rd", "?")
    assert split_words(seq, CONT) == [
        ids("res", "##et"),
        ids("my"),
        ids("pass", "##wo", "##rd"),
        ids("?"),
    ]


def test_continuations_only_where_a_listed_word_goes_on():
    trie = WordTrie.build(CONT, [ids("res", "##et"), ids("pass", "##wo", "##rd")])
    res = trie.start(ID["res"])
    assert trie.children(res).tolist() == [ID["##et"]]
    assert trie.step(res, ID["##wo"]) is None
    node = trie.step(trie.step(trie.start(ID["pass"]), ID["##wo"]), ID["##rd"])
    assert trie.complete(node) and trie.children(node).size == 0
    assert not trie.complete(trie.step(trie.start(ID["pass"]), ID["##wo"]))  # "passwo"
    # heads that start no listed word share the complete leaf with no continuation
    assert trie.start(ID["my"]) == LEAF and trie.complete(LEAF)
    assert trie.start(ID["?"]) == LEAF


def test_a_head_listed_only_as_a_prefix_is_no_word_unless_also_listed_alone():
    trie = WordTrie.build(CONT, [ids("res", "##et"), ids("pass", "##wo", "##rd"), ids("pass")])
    assert not trie.complete(trie.start(ID["res"]))  # trimmed vocabularies: "res" of "reset"
    assert trie.complete(trie.start(ID["pass"]))
    assert trie.contains(ids("pass")) and not trie.contains(ids("res"))
    assert trie.contains(ids("my"))  # a vocabulary head nobody lists is a word


def test_extended_adds_words_and_leaves_the_original_unchanged():
    trie = WordTrie.build(CONT, [ids("res", "##et")])
    before = (trie.nodes, trie.children(trie.start(ID["res"])).tolist())
    more = trie.extended([ids("res", "##s"), ids("set", "##s"), ids("res")])
    assert more is not trie
    assert more.contains(ids("res", "##s")) and more.contains(ids("set", "##s"))
    assert more.contains(ids("res")) and more.contains(ids("res", "##et"))
    assert (trie.nodes, trie.children(trie.start(ID["res"])).tolist()) == before
    assert not trie.contains(ids("res", "##s")) and not trie.contains(ids("res"))
    assert trie.start(ID["set"]) == LEAF
    assert trie.extended([ids("res", "##et"), ids("my")]) is trie  # nothing new: shared


def test_malformed_sequences_are_skipped():
    trie = WordTrie.build(CONT, [ids("##s", "##et"), ids("res", "my")])
    assert trie.nodes == 1
