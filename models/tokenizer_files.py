"""The tokenizer.json of an exported folder: the source's own, or one built from vocab.txt."""

from __future__ import annotations

import json
import unicodedata

from tokenizers import Tokenizer, normalizers

from app.errors import InvalidInput
from models.source import SourceInfo
from models.vocab_tokenizer import WordPieceOptions, build_wordpiece_tokenizer


def load_source_tokenizer(info: SourceInfo) -> tuple[Tokenizer, bool]:
    """Returns (tokenizer without padding/truncation, whether it lowercases).

    A source `tokenizer.json` is used as is except that its padding and truncation are
    removed (the bundled MiniLM one pads to 128, docs/METHODS.md 7.4) and, for a
    sentence-transformers `do_lower_case`, a Lowercase step is prepended.
    """
    folder = info.model_dir
    if (folder / "tokenizer.json").exists():
        tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
        tok.no_padding()
        tok.no_truncation()
        if info.st_lowercase:
            current = tok.normalizer
            steps = [normalizers.Lowercase()] + ([current] if current is not None else [])
            tok.normalizer = normalizers.Sequence(steps)
        options = WordPieceOptions.from_tokenizer_config(folder)
        return tok, info.st_lowercase or options.do_lower_case
    options = WordPieceOptions.from_tokenizer_config(folder)
    tok = build_wordpiece_tokenizer(
        folder / "vocab.txt", options, extra_lowercase=info.st_lowercase
    )
    return tok, info.st_lowercase or options.do_lower_case


def check_against_transformers(info: SourceInfo, tokenizer: Tokenizer, texts) -> str:
    """Compare ids with the source's own transformers tokenizer; returns what was checked.

    Raises InvalidInput on a mismatch, so a folder never serves ids the model was not
    trained on. Skipped (returns "skipped: ...") when transformers cannot build one or
    sentence-transformers lowercases on top of it.
    """
    if info.st_lowercase:
        return "skipped: sentence-transformers lowercases before the tokenizer"
    try:
        from transformers import AutoTokenizer

        reference = AutoTokenizer.from_pretrained(str(info.model_dir))
    except Exception as exc:  # noqa: BLE001 - e.g. a custom tokenizer class
        return f"skipped: transformers could not load it ({type(exc).__name__})"
    # transformers rebuilds a BERT tokenizer's normaliser from its config flags and drops a
    # leading NFKC step (models/bilingual/vocab.py adds one); compare on NFKC text then.
    nfkc = starts_with_nfkc(tokenizer)
    for text in texts:
        ours = tokenizer.encode(text).ids
        seen = unicodedata.normalize("NFKC", text) if nfkc else text
        theirs = list(reference(seen)["input_ids"])
        if ours != theirs:
            raise InvalidInput(
                f"tokenizer built for {info.model_dir} disagrees with transformers' on {text!r}: "
                f"{ours[:12]} vs {theirs[:12]}"
            )
    suffix = " on NFKC-normalised text" if nfkc else ""
    return f"ids equal transformers' {type(reference).__name__}{suffix}"


def starts_with_nfkc(tokenizer: Tokenizer) -> bool:
    """True when the tokenizer's normaliser is a Sequence whose first step is NFKC."""
    if tokenizer.normalizer is None:
        return False
    state = json.loads(tokenizer.normalizer.__getstate__())
    steps = state.get("normalizers") if state.get("type") == "Sequence" else [state]
    return bool(steps) and steps[0].get("type") == "NFKC"
