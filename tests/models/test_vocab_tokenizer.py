"""tokenizer.json built from vocab.txt gives BertTokenizer's ids (the pure-Python reference)."""

from __future__ import annotations

import json

import pytest
from transformers.models.bert.tokenization_bert_legacy import BertTokenizerLegacy

from models.vocab_tokenizer import WordPieceOptions, build_wordpiece_tokenizer, read_vocab
from tests.tiny_models import tiny_vocab, write_vocab

CASES = [
    "A man is playing a guitar.",
    "How do I reset my PASSWORD?? cats,dogs;and-birds",
    "今天天气怎么样？忘记密码怎么办",
    "混合text中文mixed 123，北京Beijing。",
    "Café déjà vu, naïve résumé ÀÉÎ",
    "unknownword supercalifragilistic playing played",
    "tabs\tand\nnewlines  and   spaces\u00a0nbsp \u200b zero-width",
    "emoji 😀 and 𠀀 rare han",
    "[MASK] stays [CLS] special",
    "",
]


@pytest.fixture(scope="module")
def vocab_file(tmp_path_factory):
    tokens = tiny_vocab() + ["café", "##é", "é", "À", "##ing", "played", "ÀÉÎ", "Beijing", "##i"]
    seen = list(dict.fromkeys(tokens))
    return write_vocab(tmp_path_factory.mktemp("vocab"), seen)


@pytest.mark.parametrize(
    "options",
    [
        WordPieceOptions(),
        WordPieceOptions(do_lower_case=False),
        WordPieceOptions(do_lower_case=True, strip_accents=False),
        WordPieceOptions(do_lower_case=False, strip_accents=True),
        WordPieceOptions(tokenize_chinese_chars=False),
    ],
    ids=["lower", "cased", "lower-keep-accents", "cased-strip-accents", "no-cjk-split"],
)
def test_ids_match_python_bert_tokenizer(vocab_file, options):
    ours = build_wordpiece_tokenizer(vocab_file, options)
    ref = BertTokenizerLegacy(
        str(vocab_file),
        do_lower_case=options.do_lower_case,
        strip_accents=options.strip_accents,
        tokenize_chinese_chars=options.tokenize_chinese_chars,
    )
    for text in CASES:
        expected = ref(text)["input_ids"]
        assert ours.encode(text).ids == expected, text
    pair = ours.encode("how are you", "今天好")
    ref_pair = ref("how are you", "今天好", return_token_type_ids=True)
    assert pair.ids == ref_pair["input_ids"]
    assert pair.type_ids == ref_pair["token_type_ids"]


def test_chinese_is_split_per_character(vocab_file):
    tok = build_wordpiece_tokenizer(vocab_file)
    enc = tok.encode("忘记密码")
    assert enc.tokens == ["[CLS]", "忘", "记", "密", "码", "[SEP]"]
    assert enc.special_tokens_mask == [1, 0, 0, 0, 0, 1]
    assert tok.decode(enc.ids) == "忘 记 密 码"


def test_reads_tokenizer_config(tmp_path):
    config = {"do_lower_case": False, "unk_token": {"content": "[UNK]"}, "strip_accents": None}
    (tmp_path / "tokenizer_config.json").write_text(json.dumps(config))
    opts = WordPieceOptions.from_tokenizer_config(tmp_path)
    assert opts == WordPieceOptions(do_lower_case=False)
    assert WordPieceOptions.from_tokenizer_config(tmp_path / "absent") == WordPieceOptions()


def test_duplicate_vocab_lines_keep_the_last_index(tmp_path):
    path = write_vocab(tmp_path, ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "a", "a"])
    assert read_vocab(path)["a"] == 5


def test_missing_special_token_rejected(tmp_path):
    path = write_vocab(tmp_path, ["[PAD]", "[CLS]", "[SEP]", "hello"])
    with pytest.raises(ValueError, match=r"\[UNK\]"):
        build_wordpiece_tokenizer(path)


def test_extra_lowercase_applies_before_cased_vocab(vocab_file):
    tok = build_wordpiece_tokenizer(
        vocab_file, WordPieceOptions(do_lower_case=False), extra_lowercase=True
    )
    assert tok.encode("HELLO World").tokens == ["[CLS]", "hello", "world", "[SEP]"]
