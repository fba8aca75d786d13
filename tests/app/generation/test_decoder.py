"""UniLM decoding on real onnxruntime sessions of tiny random-weight SimBERT folders."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
from tokenizers import Tokenizer

from app.engines.manifest import read_manifest
from app.generation.constraints import StepConstraints, VocabClasses
from app.generation.decoder import DecodeMode, SamplingParams, UniLMDecoder
from app.generation.spec import GeneratorSpec
from app.generation.words import WordTrie, split_words


def _decoder(folder):
    manifest = read_manifest(folder)
    spec = GeneratorSpec.from_manifest(manifest.generator)
    tok = Tokenizer.from_file(str(folder / manifest.tokenizer_file))
    session = ort.InferenceSession(str(folder / spec.graph), providers=["CPUExecutionProvider"])
    banned = [tok.token_to_id(t) for t in spec.banned_tokens]
    return UniLMDecoder(session, spec, tok.token_to_id(spec.end_token), banned), tok, banned


@pytest.fixture(scope="module")
def tiny(tiny_simbert_dir):
    return _decoder(tiny_simbert_dir / "tiny-simbert")


def _prompt(tok, text="how is the weather today"):
    return np.asarray(tok.encode(text).ids, dtype=np.int64)


def test_same_seed_same_samples_other_seed_differs(tiny):
    dec, tok, _ = tiny
    params = SamplingParams(n=8, max_new_tokens=10)
    a = dec.generate(_prompt(tok), params, np.random.default_rng(1))
    b = dec.generate(_prompt(tok), params, np.random.default_rng(1))
    c = dec.generate(_prompt(tok), params, np.random.default_rng(2))
    assert len(a.sequences) == 8
    assert all(np.array_equal(x, y) for x, y in zip(a.sequences, b.sequences, strict=True))
    assert not all(np.array_equal(x, y) for x, y in zip(a.sequences, c.sequences, strict=True))


def test_cache_and_full_rerun_give_the_same_samples(tiny):
    dec, tok, _ = tiny
    params = SamplingParams(n=6, max_new_tokens=8, top_k=None, top_p=0.9)
    cached = dec.generate(_prompt(tok), params, np.random.default_rng(3), DecodeMode.CACHED)
    full = dec.generate(_prompt(tok), params, np.random.default_rng(3), DecodeMode.FULL)
    for x, y in zip(cached.sequences, full.sequences, strict=True):
        np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(cached.truncated, full.truncated)


def test_banned_tokens_never_sampled_and_cap_keeps_truncated_rows(tiny):
    dec, tok, banned = tiny
    params = SamplingParams(n=16, max_new_tokens=5, top_k=None, temperature=2.0)
    out = dec.generate(_prompt(tok), params, np.random.default_rng(0))
    flat = np.concatenate(out.sequences)
    assert not set(flat.tolist()) & set(banned)
    assert dec.end_id not in flat
    lengths = np.array([len(s) for s in out.sequences])
    assert lengths.max() <= 5 and lengths.min() >= 1
    np.testing.assert_array_equal(out.truncated, lengths == 5)
    assert out.truncated.any()  # random weights rarely pick [SEP] 5 times in a row


def test_greedy_rows_are_identical(tiny):
    dec, tok, _ = tiny
    out = dec.generate(
        _prompt(tok), SamplingParams(n=4, max_new_tokens=6, top_k=1), np.random.default_rng(0)
    )
    assert all(np.array_equal(out.sequences[0], s) for s in out.sequences)


def test_stops_at_sep_after_one_token(tiny_simbert_dir):
    dec, tok, _ = _decoder(tiny_simbert_dir / "tiny-stopper")
    out = dec.generate(
        _prompt(tok), SamplingParams(n=5, max_new_tokens=10), np.random.default_rng(0)
    )
    assert [len(s) for s in out.sequences] == [1] * 5  # step 0 may not end; step 1 ends
    assert not out.truncated.any()
    assert out.steps == 1


def test_prompt_plus_cap_must_fit_positions(tiny):
    dec, tok, _ = tiny
    with pytest.raises(ValueError, match="positions"):
        dec.generate(
            _prompt(tok), SamplingParams(n=1, max_new_tokens=500), np.random.default_rng(0)
        )


LISTED = ["cats", "dogs", "xyz", "reading", "weathers", "abc"]


def _rule(tok):
    vocab = [tok.id_to_token(i) or "" for i in range(tok.get_vocab_size())]  # gaps: ""
    classes = VocabClasses.from_tokens(vocab, "##")
    seqs = [
        w
        for text in LISTED
        for w in split_words(tok.encode(text, add_special_tokens=False).ids, classes.continuation)
    ]
    return classes, WordTrie.build(classes.continuation, seqs)


def _well_formed(seq, classes, trie) -> bool:
    words = split_words(seq, classes.continuation)
    grams = [tuple(seq[i : i + 3].tolist()) for i in range(len(seq) - 2)]
    return (
        (len(seq) == 0 or not classes.continuation[seq[0]])
        and all(trie.contains(w) for w in words)
        and all(a != b for a, b in zip(words, words[1:], strict=False))
        and len(grams) == len(set(grams))
    )


def test_constrained_samples_are_listed_words_without_repeats(tiny):
    dec, tok, _ = tiny
    classes, trie = _rule(tok)
    assert trie.contains(tuple(tok.encode("xyz", add_special_tokens=False).ids))
    params = SamplingParams(n=24, max_new_tokens=10, top_k=None, temperature=1.5)
    free = dec.generate(_prompt(tok), params, np.random.default_rng(4))
    on = dec.generate(
        _prompt(tok),
        params,
        np.random.default_rng(4),
        constraints=StepConstraints(24, classes, trie, 3, True),
    )
    assert all(_well_formed(seq, classes, trie) for seq in on.sequences)
    assert sum(len(s) for s in on.sequences) > 24  # real text, not empty rows
    # the same random model breaks the rules when unconstrained: the masks are what holds
    assert not all(_well_formed(seq, classes, trie) for seq in free.sequences)
    # truncated rows lost their unfinished last word at most
    assert all(len(s) <= 10 for s in on.sequences) and on.truncated.any()


def test_constrained_decoding_is_seeded_and_cache_independent(tiny):
    dec, tok, _ = tiny
    classes, trie = _rule(tok)
    params = SamplingParams(n=12, max_new_tokens=8, top_k=None, temperature=1.5)

    def run(seed, mode=DecodeMode.CACHED):
        steps = StepConstraints(12, classes, trie, 3, True)
        return dec.generate(_prompt(tok), params, np.random.default_rng(seed), mode, steps)

    a, b, c, full = run(1), run(1), run(2), run(1, DecodeMode.FULL)
    for x, y, z in zip(a.sequences, b.sequences, full.sequences, strict=True):
        np.testing.assert_array_equal(x, y)
        np.testing.assert_array_equal(x, z)
    assert not all(np.array_equal(x, y) for x, y in zip(a.sequences, c.sequences, strict=True))
