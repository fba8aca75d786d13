"""`python -m models simbert-words`: the training-text word list of a simbert folder."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")

from app.engines.manifest import read_manifest  # noqa: E402
from app.generation.spec import GeneratorSpec  # noqa: E402
from models.__main__ import main  # noqa: E402
from models.simbert_words import WORDS_FILE, text_words, write_word_list  # noqa: E402
from tests.app.generation.tiny_simbert import build_tiny_simbert, tiny_tokenizer  # noqa: E402


def test_text_words_are_the_tokenizers_normalized_pretokens_with_a_letter_or_digit():
    texts = ["Cats, dogs and Yellen's cats!", "don't 42 -- YELLEN", "I'm"]
    words = ["42", "and", "cats", "dogs", "don", "don't", "i", "i'm", "m", "s", "t"]
    assert text_words(tiny_tokenizer(), texts) == words
    # names (only ever written capitalized) only on request
    assert "yellen" in text_words(tiny_tokenizer(), texts, names=True)


def test_word_list_is_written_named_and_hashed(tmp_path):
    build_tiny_simbert(tmp_path)
    folder = tmp_path / "tiny-simbert"
    assert write_word_list(folder, ["reading xyz", "Xyz weathers"]) == 3
    assert (folder / WORDS_FILE).read_text() == "reading\nweathers\nxyz\n"
    manifest = read_manifest(folder)  # verifies every sha256, the word list's too
    assert WORDS_FILE in manifest.files and WORDS_FILE in manifest.generator["files"]
    assert GeneratorSpec.from_manifest(manifest.generator).words == WORDS_FILE


def test_cli_reads_training_pairs(tmp_path):
    build_tiny_simbert(tmp_path)
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("sentence1\tsentence2\tscore\nxyz cats\tdogs abc\t5\nlow one\tlow two\t1\n")
    folder = tmp_path / "tiny-simbert"
    assert main(["simbert-words", "--folder", str(folder), "--pairs", f"{pairs}:4"]) == 0
    assert (folder / WORDS_FILE).read_text().split() == ["abc", "cats", "dogs", "xyz"]
