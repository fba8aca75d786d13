"""Decoding constraints for one request (issue 11): options checked, word rule data built.

The word rule's data for one generator are its vocabulary classes and word trie.

Words are the generator's own vocabulary (every head token) plus, when the folder names
one (`manifest.generator.words`), its word list file: one word a line, e.g. the words of
the training text (`python -m models simbert-words`). Each is tokenized by the model's own
tokenizer, so a word is the token sequence the model was trained on. A request adds its
source's words (a name or a rare word of the input may always be copied).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from app.engines.tokenizer import TextTokenizer
from app.errors import ValidationFailed
from app.generation.constraints import (
    ConstraintError,
    DecodeConstraints,
    StepConstraints,
    VocabClasses,
)
from app.generation.words import Contractions, WordTrie, split_words

APOSTROPHE = "'"


@dataclass(frozen=True)
class WordRule:
    vocab: VocabClasses
    trie: WordTrie
    contractions: Contractions | None  # None when the vocabulary has no apostrophe token
    listed: int  # words read from the folder's word list (0 without one)


def read_word_list(path: Path) -> list[str]:
    """Non-empty stripped lines of a UTF-8 file; lines starting with '#' are comments."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ValueError(f"word list {path} cannot be read: {exc}") from None
    return [w for w in (line.strip() for line in lines) if w and not w.startswith("#")]


def word_rule(tokenizer: TextTokenizer, words_file: Path | None) -> WordRule:
    """Vocabulary classes and the trie of the vocabulary's words plus the file's words."""
    vocab = VocabClasses.from_tokens(tokenizer.vocabulary(), tokenizer.continuation_prefix())
    listed = read_word_list(words_file) if words_file is not None else []
    entries = [split_words(ids, vocab.continuation) for ids in tokenizer.encode_plain(listed)]
    trie = WordTrie.build(vocab.continuation, [w for words in entries for w in words])
    apostrophe = tokenizer.token_to_id(APOSTROPHE)
    contractions = None if apostrophe is None else Contractions.build(apostrophe, entries)
    return WordRule(vocab, trie, contractions, len(listed))


def with_source_words(rule: WordRule, source: Sequence[int]) -> WordRule:
    """The rule plus the words of the source's token ids (`TextTokenizer.encode_plain`, no
    specials); shares the rule's parts where nothing is new."""
    words = split_words(source, rule.vocab.continuation)
    contractions = rule.contractions
    if contractions is not None:  # "don't" of the source: its three words in a row
        contractions = contractions.extended([words[i : i + 3] for i in range(len(words) - 2)])
    return WordRule(rule.vocab, rule.trie.extended(words), contractions, rule.listed)


def parse_constraints(options: DecodeConstraints | dict | None) -> DecodeConstraints:
    """Request options -> DecodeConstraints (defaults on); 422 naming the bad field."""
    if isinstance(options, DecodeConstraints):
        return options
    try:
        return DecodeConstraints(**(options or {}))
    except ConstraintError as exc:
        raise ValidationFailed(str(exc), param=f"constraints.{exc.field}") from None
    except TypeError:
        valid = ", ".join(DecodeConstraints.__dataclass_fields__)
        raise ValidationFailed(
            f"unknown constraints option in {sorted(options or {})}; valid: {valid}",
            param="constraints",
        ) from None


def step_constraints(
    rule: WordRule, tokenizer: TextTokenizer, text: str, options: DecodeConstraints, n: int
) -> StepConstraints | None:
    """One decode's logits masks for the source `text`; None when no step-level option is on."""
    if not options.masks_steps:
        return None
    source = tokenizer.encode_plain([text])[0]
    repeats = frozenset(
        int(a)
        for a, b in zip(source, source[1:], strict=False)
        if a == b and rule.vocab.repeat_ok[a]
    )
    trie = None  # without the word rule, StepConstraints ignores contractions too
    if options.words:
        rule = with_source_words(rule, source)
        trie = rule.trie
    return StepConstraints(
        n,
        rule.vocab,
        trie,
        options.no_repeat_ngram,
        options.no_repeat_word,
        rule.contractions,
        source_repeats=repeats,
    )
