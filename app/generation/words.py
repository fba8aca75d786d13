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
