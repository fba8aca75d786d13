"""extend-vocab on the tiny sentence-transformers model: ids, rows, normaliser, served folder."""

from __future__ import annotations

import json

import numpy as np
import pytest
from safetensors.numpy import load_file

from tests.tiny_models import build_tiny_st_model

pytest.importorskip("sentence_transformers")

from models.bilingual.folder import RECORD, extend_folder, tokenizer_vocab  # noqa: E402
from models.bilingual.train import load_model  # noqa: E402

CHINESE = ["龙凤呈祥怎么办？", "密码忘了", "凤凰卫视", "體育新聞"]
MIXED = [
    "How do I reset my password?",
    "忘记密码怎么办？",
    "ＡＢＣ１２３，龙凤！",
    "混合 text 中英文 mixed 123",
    "繁體中文 😀 emoji",
    "",
]
KEY = "embeddings.word_embeddings.weight"


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("extend")
    source = build_tiny_st_model(root / "model")
    out = root / "extended"
    record = extend_folder(source, out, CHINESE, seed=0)
    return source, out, record


def test_adds_unseen_cjk_characters_and_keeps_old_ids(folders):
    source, out, record = folders
    old_vocab = tokenizer_vocab(source)
    old = sorted(old_vocab, key=old_vocab.__getitem__)
    new = (out / "vocab.txt").read_text(encoding="utf-8").splitlines()
    assert new[: len(old)] == old
    added = new[len(old) :]
    assert set(added) == {c for c in "".join(CHINESE) if "\u4e00" <= c <= "\u9fff"} - set(old)
    assert record.added == len(added) and record.new_vocab_size == len(new)
    saved = json.loads((out / RECORD).read_text(encoding="utf-8"))
    assert saved["added"] == len(added) and len(saved["texts_sha256"]) == 64
    assert json.loads((out / "config.json").read_text())["vocab_size"] == len(new)


def test_old_embedding_rows_unchanged_new_rows_appended(folders):
    source, out, record = folders
    old = load_file(str(source / "model.safetensors"))[KEY]
    new = load_file(str(out / "model.safetensors"))[KEY]
    assert new.shape == (record.new_vocab_size, old.shape[1])
    np.testing.assert_array_equal(new[: old.shape[0]], old)
    assert np.isfinite(new).all()


def test_english_tokenises_as_before_and_full_width_as_ascii(folders):
    source, out, _ = folders
    before, after = load_model(source).tokenizer, load_model(out).tokenizer
    english = "how do i reset my password?"
    assert after(english)["input_ids"] == before(english)["input_ids"]
    assert after("ＡＢＣ？，")["input_ids"] == after("abc?,")["input_ids"]
    tokens = after.convert_ids_to_tokens(after("龙凤 password")["input_ids"])
    assert tokens == ["[CLS]", "龙", "凤", "password", "[SEP]"]


def test_traditional_characters_and_emoji_do_not_crash(folders):
    _, out, _ = folders
    model = load_model(out)
    vectors = model.encode(MIXED, convert_to_numpy=True)
    assert vectors.shape[0] == len(MIXED) and np.isfinite(vectors).all()


def test_refuses_to_overwrite_unless_asked(folders, tmp_path):
    from app.errors import InvalidInput

    source, out, _ = folders
    with pytest.raises(InvalidInput, match="already exists"):
        extend_folder(source, out, CHINESE)
    fresh = tmp_path / "x"
    extend_folder(source, fresh, CHINESE)
    extend_folder(source, fresh, CHINESE, overwrite=True)
    assert (fresh / RECORD).exists()


def test_served_folder_sends_the_ids_training_saw(folders, tmp_path):
    """Export the extended model and compare the server's ids with the training tokenizer's."""
    from app.engines.manifest import read_manifest
    from app.engines.tokenizer import TextTokenizer
    from models.export import export_model

    _, out, _ = folders
    manifest = export_model(out, tmp_path, "tiny-zh", pooling="mean", normalize=True)
    assert "NFKC" in manifest.source["tokenizer_check"]
    served = read_manifest(tmp_path / "tiny-zh", verify=True)
    tok = TextTokenizer.from_file(tmp_path / "tiny-zh" / served.tokenizer_file, served.max_length)
    training = load_model(out).tokenizer
    for text, item in zip(MIXED, tok.tokenize(MIXED), strict=True):
        assert list(item.ids) == training(text)["input_ids"], text
