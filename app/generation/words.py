"""A trie over the token ids of a word list: which WordPiece continuations (`##...`) may follow.

A word is one head token (no continuation prefix) followed by zero or more continuation
tokens, e.g. `pass ##wo ##rd`. Every head token of the vocabulary is a word by itself (so
a model-agnostic list needs no file; CJK characters, punctuation and whole-word pieces
are never restricted). Longer words come from a word list (the model folder's
training-text words, the request's own source words), each tokenized by the model's own
tokenizer. One exception: a head that the list holds only as the start of longer words
(`res` for `res ##et` in a trimmed vocabulary) is not a word by itself, unless the list
also holds it alone.

Nodes are small integers. `LEAF` (0) is shared by every head that starts no longer word:
a complete word with no allowed continuation. Any other head gets its own node; a node is
complete when a listed word (or, for a head, the head alone) ends there.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

LEAF = 0


def split_words(ids: Sequence[int], continuation: np.ndarray) -> list[tuple[int, ...]]:
    """Cut a token id sequence into words at each head token.

    ids : (T,) int token ids; continuation : (V,) bool, True for `##` tokens.
    Leading continuation tokens (no head before them) are dropped.
    """
    words: list[list[int]] = []
    for t in ids:
        t = int(t)
        if continuation[t]:
            if words:
                words[-1].append(t)
        else:
            words.append([t])
    return [tuple(w) for w in words]


class WordTrie:
    """Immutable after construction; `extended` shares everything it does not change."""

    def __init__(self, continuation: np.ndarray):
        """continuation : (V,) bool, True for the vocabulary's continuation (`##`) tokens."""
        continuation = np.asarray(continuation)
        if continuation.ndim != 1 or continuation.dtype != bool:
            raise ValueError(f"continuation must be (V,) bool, got {continuation.shape}")
        self.continuation = continuation
        self._head = np.full(continuation.size, LEAF, dtype=np.int64)  # head token -> node
        self._edges: list[dict[int, int]] = [{}]  # node -> {continuation token: node}
        self._complete: list[bool] = [True]
        self._children: list[np.ndarray] = [np.zeros(0, dtype=np.int64)]

    @classmethod
    def build(cls, continuation: np.ndarray, words: Iterable[Sequence[int]]) -> WordTrie:
        """A trie holding every head token plus `words` (token id sequences, see split_words)."""
        trie = cls(continuation)
        trie._add_all(words)
        return trie

    @property
    def nodes(self) -> int:
        return len(self._edges)

    def extended(self, words: Iterable[Sequence[int]]) -> WordTrie:
        """A new trie with `words` added; `self` is unchanged. Returns `self` if nothing is new."""
        words = [tuple(int(t) for t in w) for w in words if len(w) > 0]
        if all(self.contains(w) for w in words):
            return self
        out = object.__new__(WordTrie)
        out.continuation = self.continuation
        out._head = self._head.copy()
        out._edges = list(self._edges)
        out._complete = list(self._complete)
        out._children = list(self._children)
        out._add_all(words, copy_on_write=True)
        return out

    def _add_all(self, words: Iterable[Sequence[int]], copy_on_write: bool = False) -> None:
        copied: set[int] = set()
        changed: set[int] = set()
        words = [[int(t) for t in w] for w in words]
        alone = {w[0] for w in words if len(w) == 1}
        for head in alone:  # a head listed alone is a word even where it also starts others
            if self._head[head] != LEAF:
                self._complete[int(self._head[head])] = True
        for word in words:
            if len(word) < 2 or self.continuation[word[0]] or not self.continuation[word[1:]].all():
                continue  # one-token words are handled above; malformed sequences are skipped
            node = int(self._head[word[0]])
            if node == LEAF:
                node = self._new_node(complete=word[0] in alone)
                self._head[word[0]] = node
            for t in word[1:]:
                nxt = self._edges[node].get(t)
                if nxt is None:
                    nxt = self._new_node(complete=False)
                    if copy_on_write and node not in copied:
                        self._edges[node] = dict(self._edges[node])
                        copied.add(node)
                    self._edges[node][t] = nxt
                    changed.add(node)
                node = nxt
            self._complete[node] = True
        for node in changed:
            self._children[node] = np.asarray(sorted(self._edges[node]), dtype=np.int64)

    def _new_node(self, complete: bool) -> int:
        self._edges.append({})
        self._complete.append(complete)
        self._children.append(np.zeros(0, dtype=np.int64))
        return len(self._edges) - 1

    def contains(self, word: Sequence[int]) -> bool:
        """True when `word` (head + continuations) is a complete word of the trie."""
        node = self.start(int(word[0]))
        for t in word[1:]:
            node = self.step(node, int(t))
            if node is None:
                return False
        return self._complete[node]

    def start(self, head: int) -> int:
        """Node after the head token `head`."""
        return int(self._head[head])

    def step(self, node: int, token: int) -> int | None:
        """Node after the continuation `token` from `node`; None when no word goes on so."""
        return self._edges[node].get(token)

    def complete(self, node: int) -> bool:
        """True when the tokens leading to `node` form a listed word (the word may end here)."""
        return self._complete[node]

    def children(self, node: int) -> np.ndarray:
        """(C,) int64 sorted continuation token ids allowed after `node`."""
        return self._children[node]


class Contractions:
    """Which suffix may follow `word '` ("don ' t", "steele ' s", not "i ' t"): learnt from
    listed words written with an inner apostrophe, each given as its words (split_words).

    A suffix is any token seen after an apostrophe there (t, s, re, ve, ...); after
    `word '` a suffix goes only where `word'suffix` was listed. Other tokens (a quote
    mark's next word) are not restricted. Immutable; `extended` returns a new table.
    """

    def __init__(self, apostrophe: int, allowed: dict[tuple[int, ...], frozenset[int]]):
        self.apostrophe = int(apostrophe)
        self._allowed = allowed
        self.suffixes = np.asarray(sorted(set().union(*allowed.values())), dtype=np.int64)
        self._banned: dict[tuple[int, ...], np.ndarray] = {}

    @classmethod
    def build(cls, apostrophe: int, entries: Iterable[Sequence[tuple[int, ...]]]) -> Contractions:
        return cls(apostrophe, cls._merge({}, apostrophe, entries))

    @staticmethod
    def _merge(
        allowed: dict[tuple[int, ...], frozenset[int]],
        apostrophe: int,
        entries: Iterable[Sequence[tuple[int, ...]]],
    ) -> dict[tuple[int, ...], frozenset[int]]:
        out = dict(allowed)
        for words in entries:
            if len(words) == 3 and words[1] == (apostrophe,) and len(words[2]) == 1:
                word = tuple(int(t) for t in words[0])
                out[word] = out.get(word, frozenset()) | {int(words[2][0])}
        return out

    def extended(self, entries: Iterable[Sequence[tuple[int, ...]]]) -> Contractions:
        """A table with `entries` added; `self` when nothing is new."""
        merged = self._merge(self._allowed, self.apostrophe, entries)
        return self if merged == self._allowed else Contractions(self.apostrophe, merged)

    def banned_after(self, word: Sequence[int]) -> np.ndarray:
        """(S,) int64 suffix ids that may not follow `word '`."""
        key = tuple(int(t) for t in word)
        if key not in self._banned:
            ok = self._allowed.get(key, frozenset())
            self._banned[key] = np.asarray([s for s in self.suffixes if s not in ok], np.int64)
        return self._banned[key]
