"""`python -m models simbert-words`: add a training-text word list to a simbert model folder.

The word rule of /paraphrase (issue 11, `app.generation.constraints`) lets a WordPiece
continuation (`##...`) follow only where it can still complete a word of the model's
word list: its vocabulary's whole-word tokens plus this file. The words are the folder
tokenizer's own pre-tokens (normalized, e.g. lower-cased) of the training texts that hold
a letter or digit, except names (words only ever written capitalized; `--names` keeps
them), one a line, sorted; `manifest.generator.words` names the file and its sha256 is
recorded with the other files.

    python -m models simbert-words --folder models/zoo/minilm-simbert \\
        --pairs ../shared/data/msrp/train.tsv:1 ../shared/data/stsb-en/train.tsv:4 ...
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from tokenizers import Tokenizer

from app.engines.manifest import read_manifest, write_manifest

WORDS_FILE = "words.txt"


def text_words(tokenizer: Tokenizer, texts: Iterable[str], *, names: bool = False) -> list[str]:
    """Distinct pre-tokens with a letter or digit, as the tokenizer normalizes them, and
    words written with an inner apostrophe ("don't": the word rule's contractions); sorted.

    Without `names`, a word of two or more letters and tokens the texts only ever write
    capitalized (a name: "Yellen", "CELAC") is left out: a paraphrase should not bring in a name its source does not
    have (the source's own words are always allowed at request time). Scripts without
    case are unaffected.
    """
    pre = tokenizer.pre_tokenizer
    seen: dict[str, bool] = {}  # word -> written lower-case at least once
    glued: dict[str, bool] = {}  # the same for words with an inner apostrophe ("don't")
    for text in texts:
        for raw, _ in pre.pre_tokenize_str(text) if pre else []:
            if any(c.isalnum() for c in raw):
                key = raw.casefold()  # "I": a one-letter word is no name
                seen[key] = seen.get(key, False) or not raw[:1].isupper() or len(raw) == 1
        for raw in _GLUED.findall(text):
            key = raw.casefold()  # "I'm": a one-letter first part is no name
            common = not raw[:1].isupper() or not raw[1:2].isalnum()
            glued[key] = glued.get(key, False) or common
    words: set[str] = set()
    for raw, common in seen.items():
        for w, _ in pre.pre_tokenize_str(_normal(tokenizer, raw)):
            # a one-token name stays: the vocabulary makes it a word anyway, and listing it
            # keeps it one where it also starts longer words ("congress", "congressional")
            if any(c.isalnum() for c in w) and (common or names or _one_token(tokenizer, w)):
                words.add(w)
    words.update(_normal(tokenizer, raw) for raw, common in glued.items() if common or names)
    return sorted(words)


_GLUED = re.compile(r"[^\W_]+(?:'[^\W_]+)+")


def _one_token(tokenizer: Tokenizer, word: str) -> bool:
    return len(tokenizer.encode(word, add_special_tokens=False).ids) == 1


def _normal(tokenizer: Tokenizer, text: str) -> str:
    return tokenizer.normalizer.normalize_str(text) if tokenizer.normalizer else text


def write_word_list(folder: Path, texts: Iterable[str], *, names: bool = False) -> int:
    """Write `folder/words.txt` from `texts` and name it in the manifest. Returns the count."""
    folder = Path(folder)
    manifest = read_manifest(folder, verify=False)
    if not manifest.generator:
        raise ValueError(f"{folder} has no generator section (kind simbert expected)")
    tokenizer = Tokenizer.from_file(str(folder / manifest.tokenizer_file))
    words = text_words(tokenizer, texts, names=names)
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
    parser.add_argument(
        "--names", action="store_true", help="also list words only ever written capitalized"
    )


def run(args: argparse.Namespace) -> int:
    """Handler for the `python -m models simbert-words` sub-command."""
    from models.train_simbert import PairSource, read_pairs

    pairs = read_pairs([PairSource.parse(s) for s in args.pairs])
    count = write_word_list(args.folder, (t for p in pairs for t in p), names=args.names)
    print(f"{count} words -> {args.folder / WORDS_FILE}")
    return 0
