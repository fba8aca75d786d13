"""Build a `tokenizers` BERT WordPiece tokenizer from a bare `vocab.txt`.

Most Chinese BERTs (SimBERT, RoFormer-Sim, chinese_roberta_wwm_ext) ship only `vocab.txt`.
The result must give the same ids as transformers' Python `BertTokenizer` with the same
`do_lower_case` / `strip_accents` / `tokenize_chinese_chars`, so the served model sees what
it was trained on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


@dataclass(frozen=True)
class WordPieceOptions:
    """The BertTokenizer options that change ids. strip_accents None = follow do_lower_case."""

    do_lower_case: bool = True
    strip_accents: bool | None = None
    tokenize_chinese_chars: bool = True
    unk_token: str = "[UNK]"
    cls_token: str = "[CLS]"
    sep_token: str = "[SEP]"
    pad_token: str = "[PAD]"
    mask_token: str = "[MASK]"

    @classmethod
    def from_tokenizer_config(cls, folder: Path) -> WordPieceOptions:
        """Read `tokenizer_config.json` when present; BertTokenizer's defaults otherwise."""
        path = Path(folder) / "tokenizer_config.json"
        if not path.exists():
            return cls()
        config = json.loads(path.read_text(encoding="utf-8"))
        names = {f for f in cls.__dataclass_fields__}
        values = {k: v for k, v in config.items() if k in names and v is not None}
        for key in ("unk_token", "cls_token", "sep_token", "pad_token", "mask_token"):
            if isinstance(values.get(key), dict):  # AddedToken serialisation
                values[key] = values[key]["content"]
        if "strip_accents" in config:
            values["strip_accents"] = config["strip_accents"]
        return cls(**values)


def read_vocab(path: Path) -> dict[str, int]:
    """vocab.txt -> {token: line index}, exactly as BertTokenizer's load_vocab (later duplicates win)."""
    vocab: dict[str, int] = {}
    with open(path, encoding="utf-8") as handle:
        for index, line in enumerate(handle):
            vocab[line.rstrip("\n")] = index
    if not vocab:
        raise ValueError(f"{path} is empty")
    return vocab


def build_wordpiece_tokenizer(
    vocab_file: Path, options: WordPieceOptions | None = None, *, extra_lowercase: bool = False
) -> Tokenizer:
    """A BERT tokenizer: BertNormalizer -> BertPreTokenizer -> WordPiece -> [CLS] A [SEP].

    extra_lowercase lowercases before BERT normalisation (sentence-transformers'
    `do_lower_case` in sentence_bert_config.json does that on top of the tokenizer).
    No padding and no truncation are stored; the server sets its own.
    """
    options = options or WordPieceOptions()
    vocab = read_vocab(Path(vocab_file))
    for token in (options.unk_token, options.cls_token, options.sep_token, options.pad_token):
        if token not in vocab:
            raise ValueError(f"{vocab_file} lacks the special token {token!r}")
    tok = Tokenizer(
        models.WordPiece(vocab=vocab, unk_token=options.unk_token, max_input_chars_per_word=100)
    )
    bert_norm = normalizers.BertNormalizer(
        clean_text=True,
        handle_chinese_chars=options.tokenize_chinese_chars,
        strip_accents=options.strip_accents,
        lowercase=options.do_lower_case,
    )
    tok.normalizer = (
        normalizers.Sequence([normalizers.Lowercase(), bert_norm]) if extra_lowercase else bert_norm
    )
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    cls_id, sep_id = vocab[options.cls_token], vocab[options.sep_token]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{options.cls_token} $A {options.sep_token}",
        pair=f"{options.cls_token} $A {options.sep_token} $B:1 {options.sep_token}:1",
        special_tokens=[(options.cls_token, cls_id), (options.sep_token, sep_id)],
    )
    tok.decoder = decoders.WordPiece(prefix="##")
    specials = [options.pad_token, options.unk_token, options.cls_token, options.sep_token]
    if options.mask_token in vocab:
        specials.append(options.mask_token)
    tok.add_special_tokens(specials)
    return tok
