"""Well-formed decoding: logits masks applied at every decode step (issue 11, item 1).

Deviation from SimBERT's `gen_synonyms`, which samples from the raw distribution:

- words: a continuation token (`##...`) may follow only when the word so far can still
  become a word of the `WordTrie`, and a word may end (next token a head or the end token)
  only when it is complete; after `word '` a contraction suffix only where the word list
  has `word'suffix` (`Contractions`). A hard rule: it is never relaxed.
- no_repeat_ngram (n >= 1): a token that would repeat an n-gram already generated in this
  row is banned (the generated part only; copying the source's n-grams stays allowed), as
  `no_repeat_ngram_size` in common decoders.
- no_repeat_word: a word may not be followed by itself ("to to", "pass ##word pass ##word"),
  also across punctuation ("year - year", "old, old"); a punctuation mark not by itself
  (", ,"). A CJK character may follow itself only where the source has that reduplication
  (谢谢, 看看 are grammatical Chinese, 化化工 is the slip of an undertrained generator), and
  never twice (人人人).

The two repeat bans are soft: in the rare row where they would ban every token the word
rule allows, that row samples under the word rule alone at that step. No randomness is
used here, so the same rng seed still gives the same samples.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np

from app.generation.words import LEAF, Contractions, WordTrie

MAX_NGRAM = 16
_NONE = np.zeros(0, dtype=np.int64)
# heads closed by other masks at a complete word: the decoder's banned specials, [SEP] at
# step 0, contraction suffixes; far fewer than this
_HARD_BANS_MAX = 256
_CJK_CHAR = re.compile(r"^[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]$")


class ConstraintError(ValueError):
    """A bad constraint option; `field` names it."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class DecodeConstraints:
    """Per-request options; the defaults are on. `keep_question` acts on text (app.generation.text)."""

    words: bool = True
    no_repeat_ngram: int = 3  # 0 = off
    no_repeat_word: bool = True
    keep_question: bool = True

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "no_repeat_ngram":
                if isinstance(value, bool) or not isinstance(value, int):
                    raise ConstraintError(
                        f.name, f"no_repeat_ngram must be an integer, got {value!r}"
                    )
                if not 0 <= value <= MAX_NGRAM:
                    raise ConstraintError(
                        f.name,
                        f"no_repeat_ngram must be in [0, {MAX_NGRAM}] (0 = off), got {value}",
                    )
            elif not isinstance(value, bool):
                raise ConstraintError(f.name, f"{f.name} must be true or false, got {value!r}")

    @classmethod
    def off(cls) -> DecodeConstraints:
        """Plain `gen_synonyms` sampling."""
        return cls(words=False, no_repeat_ngram=0, no_repeat_word=False, keep_question=False)

    @property
    def masks_steps(self) -> bool:
        return self.words or self.no_repeat_ngram > 0 or self.no_repeat_word


@dataclass(frozen=True)
class VocabClasses:
    continuation: np.ndarray  # (V,) bool: `##` tokens
    repeat_ok: np.ndarray  # (V,) bool: single CJK characters (may double where the source does)
    wordlike: np.ndarray  # (V,) bool: has a letter or digit (else punctuation, skipped over)

    @classmethod
    def from_tokens(cls, tokens: Sequence[str], prefix: str | None) -> VocabClasses:
        """tokens : the vocabulary by id; prefix : the continuation prefix (`##`), None if none."""
        cont = np.array([bool(prefix) and t.startswith(prefix) for t in tokens], dtype=bool)
        cjk = np.array([bool(_CJK_CHAR.match(t)) for t in tokens], dtype=bool)
        alnum = np.array([any(c.isalnum() for c in t) for t in tokens], dtype=bool)
        return cls(cont, cjk, alnum)


class StepConstraints:
    """The state of one batched decode: per row, its trie node, current and previous word,
    and the n-grams generated so far. Rows are the decoder's original row indices."""

    def __init__(
        self,
        n: int,
        vocab: VocabClasses,
        trie: WordTrie | None,
        no_repeat_ngram: int = 0,
        no_repeat_word: bool = False,
        contractions: Contractions | None = None,
        source_repeats: frozenset[int] = frozenset(),
    ):
        """source_repeats : ids of the CJK characters the source doubles (谢谢): the ones
        that may follow themselves (once)."""
        if trie is not None and trie.continuation.size != vocab.continuation.size:
            raise ValueError("trie and vocabulary classes disagree on the vocabulary size")
        self.vocab = vocab
        self.trie = trie
        self.ngram = int(no_repeat_ngram)
        self.no_repeat_word = no_repeat_word
        self.contractions = contractions if trie is not None else None
        self.source_repeats = source_repeats
        self._before: list[tuple[int, ...]] = [()] * n  # the word right before the current one
        self._node = [LEAF] * n  # LEAF at the start: no continuation may open a sequence
        self._word: list[list[int]] = [[] for _ in range(n)]
        self._prev: list[tuple[int, ...]] = [()] * n  # last word with a letter/digit before
        self._word_start = [0] * n
        self._hist: list[list[int]] = [[] for _ in range(n)]
        self._seen: list[dict[tuple[int, ...], set[int]]] = [{} for _ in range(n)]
        self._cont_cols: np.ndarray | None = None
        self._heads: int | None = None

    def _continuations(self, width: int) -> np.ndarray:
        """(C,) int64 ids of the continuation tokens inside the logits' width."""
        if self._cont_cols is None:
            self._cont_cols = np.flatnonzero(self.vocab.continuation)
        return self._cont_cols[self._cont_cols < width]

    def mask(self, logits: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Logits with disallowed tokens at -inf.

        logits : (B, V) float32, one row per entry of rows ((B,) int, original row ids).
        Returns a new (B, V) float32 array; `logits` is not modified.
        """
        if logits.ndim != 2 or logits.shape[0] != len(rows):
            raise ValueError(
                f"logits must be (len(rows), V), got {logits.shape} for {len(rows)} rows"
            )
        if self.trie is not None:
            # every continuation off, then per row: everything off mid-word, its children on
            trie, width = self.trie, logits.shape[1]
            out = np.array(logits, dtype=np.float32)
            out[:, self._continuations(width)] = -np.inf
            for i, r in enumerate(rows):
                node = self._node[r]
                if not trie.complete(node):
                    out[i] = -np.inf
                children = trie.children(node)
                if children.size:
                    children = children[children < width]
                    out[i, children] = logits[i, children]
                if self.contractions is not None:
                    banned = self._contraction_bans(r)
                    out[i, banned[banned < width]] = -np.inf
        else:
            out = np.array(logits, dtype=np.float32)
        for i, r in enumerate(rows):
            banned = self._soft_bans(int(r))
            if banned:
                cols = np.asarray(banned, dtype=np.int64)
                saved = out[i, cols].copy()
                out[i, cols] = -np.inf
                if not self._alive(out[i], int(r), cols.size):
                    out[i, cols] = saved  # the ban would empty the row: lifted
        return out

    def _alive(self, row: np.ndarray, r: int, n_banned: int) -> bool:
        """True when `row` ((V,) float32) still has a finite entry. Mid-word only the node's
        children can be finite, so only they are looked at; after a complete word (thousands
        of heads open) a few soft bans cannot empty the row."""
        if self.trie is not None and not self.trie.complete(self._node[r]):
            children = self.trie.children(self._node[r])
            return bool(np.isfinite(row[children[children < row.size]]).any())
        if self._heads is None:
            self._heads = int((~self.vocab.continuation).sum())
        if n_banned + _HARD_BANS_MAX < self._heads:  # every head but a few was open
            return True
        return bool(np.isfinite(row).any())

    def _contraction_bans(self, r: int) -> np.ndarray:
        word, before = self._word[r], self._before[r]
        c = self.contractions
        if len(word) == 1 and word[0] == c.apostrophe and before and self.vocab.wordlike[before[0]]:
            return c.banned_after(before)
        return _NONE

    def _soft_bans(self, r: int) -> list[int]:
        banned: list[int] = []
        if self.ngram:
            hist = self._hist[r]
            if len(hist) >= self.ngram - 1:
                key = tuple(hist[len(hist) - self.ngram + 1 :])
                banned.extend(self._seen[r].get(key, ()))
        if self.no_repeat_word:
            word, prev = self._word[r], self._prev[r]
            if len(word) == 1 and not self.vocab.repeat_ok[word[0]]:
                banned.append(word[0])  # the same one-token word again
            elif len(word) == 1 and (
                word[0] not in self.source_repeats or self._before[r] == (word[0],)
            ):
                banned.append(word[0])  # a CJK character doubled unlike the source, or tripled
            if word and not self.vocab.wordlike[word[0]] and len(prev) == 1:
                if not self.vocab.repeat_ok[prev[0]]:
                    banned.append(prev[0])  # "year - year": the word before the punctuation
            if len(prev) >= 2 and tuple(word) == prev[:-1]:
                banned.append(prev[-1])  # the token that would complete the previous word again
        return banned

    def advance(self, rows: np.ndarray, tokens: np.ndarray, end_id: int) -> None:
        """Record the sampled `tokens` ((B,) int) of `rows`; rows that sampled `end_id` stop."""
        cont = self.vocab.continuation
        for r, t in zip(rows.tolist(), tokens.tolist(), strict=True):
            if t == end_id:
                continue
            hist = self._hist[r]
            hist.append(t)
            if self.ngram and len(hist) >= self.ngram:
                self._seen[r].setdefault(tuple(hist[-self.ngram : -1]), set()).add(t)
            if t < cont.size and cont[t]:
                self._word[r].append(t)
                if self.trie is not None:
                    node = self.trie.step(self._node[r], t)
                    self._node[r] = LEAF if node is None else node
            else:
                word = self._word[r]
                if word and self.vocab.wordlike[word[0]]:
                    self._prev[r] = tuple(word)
                self._before[r] = tuple(word)
                self._word[r] = [t]
                self._word_start[r] = len(hist) - 1
                if self.trie is not None:
                    self._node[r] = self.trie.start(t) if t < cont.size else LEAF

    def complete_length(self, row: int) -> int:
        """Tokens of `row` to keep when it was cut at the length cap: an unfinished word goes."""
        if self.trie is not None and not self.trie.complete(self._node[row]):
            return self._word_start[row]
        return len(self._hist[row])
