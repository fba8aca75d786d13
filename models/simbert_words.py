"""`python -m models simbert-words`: add a training-text word list to a simbert model folder.

The word rule of /paraphrase (issue 11, `app.generation.constraints`) lets a WordPiece
continuation (`##...`) follow only where it can still complete a word of the model's
word list: its vocabulary's whole-word tokens plus this file. The words are the folder
tokenizer's own pre-tokens (normalized, e.g. lower-cased) of the training texts that hold
a letter or digit, one a line, sorted; `manifest.generator.words` names the file and its
sha256 is recorded with the other files.

    python -m models simbert-words --folder models/zoo/minilm-simbert \\
        --pairs ../shared/data/msrp/train.tsv:1 ../shared/data/stsb-en/train.tsv:4 ...
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from tokenizers import Tokenizer

from app.engines.manifest import read_manifest, write_manifest

WORDS_FILE = "words.txt"


def text_words(tokenizer: Tokenizer, texts: Iterable[str]) -> list[str]:
    """Distinct pre-tokens with a letter or digit, as the tokenizer normalizes them; sorted."""
    words: set[str] = set()
    for text in texts:
        if tokenizer.normalizer is not None:
            text = tokenizer.normalizer.normalize_str(text)
        pieces = tokenizer.pre_tokenizer.pre_tokenize_str(text) if tokenizer.pre_tokenizer else []
        words.update(w for w, _ in pieces if any(c.isalnum() for c in w))
    return sorted(words)


def write_word_list(folder: Path, texts: Iterable[str]) -> int:
    """Write `folder/words.txt` from `texts` and name it in the manifest. Returns the count."""
    folder = Path(folder)
    manifest = read_manifest(folder, verify=False)
    if not manifest.generator:
        raise ValueError(f"{folder} has no generator section (kind simbert expected)")
    tokenizer = Tokenizer.from_file(str(folder / manifest.tokenizer_file))
    words = text_words(tokenizer, texts)
    (folder / WORDS_FILE).write_text("".join(w + "\n" for w in words), encoding="utf-8")
    generator = json.loads(json.dumps(manifest.generator))
    generator["words"] = WORDS_FILE
    generator["files"] = sorted({*generator.get("files", []), WORDS_FILE})
    write_manifest(folder, replace(manifest, generator=generator))
    return len(words)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--folder", required=True, type=Path, help="simbert model folder")
    parser.add_argument(
        "--pairs", nargs="+", required=True, help="training TSV(s), PATH[:MIN] as train-simbert"
    )


def run(args: argparse.Namespace) -> int:
    """Handler for the `python -m models simbert-words` sub-command."""
    from models.train_simbert import PairSource, read_pairs

    pairs = read_pairs([PairSource.parse(s) for s in args.pairs])
    count = write_word_list(args.folder, (t for p in pairs for t in p))
    print(f"{count} words -> {args.folder / WORDS_FILE}")
    return 0
