"""Encoder on a tiny exported model: real tokenizer, real onnxruntime session, numpy pooling."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from app.engines.encoder import Encoder, EncodeRequest
from app.engines.manifest import read_manifest
from app.engines.pooling import masked_mean
from app.engines.whitening import WhiteningTransform, apply_whitening, save_whitening
from app.errors import InvalidInput
from app.settings import BatcherSettings, ModelSettings

SETTINGS = ModelSettings(device="cpu", intra_op_threads=1)


@pytest.fixture(scope="module")
def encoder(tiny_models_dir) -> Encoder:
    return Encoder.load(tiny_models_dir / "tiny", SETTINGS, BatcherSettings())


def test_tokenize_truncates_and_flags(encoder):
    short, long = encoder.tokenize(["hello world", " ".join(["dog"] * 500)])
    assert short.n_tokens == 4 and not short.truncated
    assert short.special_mask.tolist() == [True, False, False, True]
    assert long.n_tokens == encoder.manifest.max_length == 128 and long.truncated
    assert long.ids[-1] == encoder.tokenizer.token_to_id("[SEP]")


def test_token_vectors_drop_specials_and_padding(encoder):
    items = encoder.tokenize(["hello world", "the quick brown fox jumps"])
    results = encoder.run([EncodeRequest(items[0], want_tokens=True), EncodeRequest(items[1])])
    assert results[1].token_vectors is None
    mask, outputs = encoder.forward(items)
    assert mask.shape[1] == 8  # 7 tokens, padded to the smallest bucket
    last = outputs["last_hidden_state"]
    np.testing.assert_array_equal(results[0].token_vectors, last[0, 1:3])
    np.testing.assert_allclose(results[0].vector, masked_mean(last, mask)[0], atol=1e-6)


def test_bucket_padding_does_not_change_vectors(tiny_models_dir, encoder):
    wide = Encoder.load(tiny_models_dir / "tiny", SETTINGS, BatcherSettings(buckets=(128,)))
    items = encoder.tokenize(["hello world", "今天天气"])
    a = np.stack([r.vector for r in encoder.run([EncodeRequest(t) for t in items])])
    b = np.stack([r.vector for r in wide.run([EncodeRequest(t) for t in items])])
    np.testing.assert_allclose(a, b, atol=1e-5, rtol=0)


def test_whitening_applied_after_pooling(tiny_models_dir, encoder, tmp_path):
    folder = tmp_path / "tiny-w"
    shutil.copytree(tiny_models_dir / "tiny", folder)
    rng = np.random.default_rng(0)
    transform = WhiteningTransform(
        rng.normal(size=32).astype(np.float32), rng.normal(size=(32, 8)).astype(np.float32)
    )
    save_whitening(folder / "whitening.npz", transform)
    data = json.loads((folder / "manifest.json").read_text())
    data.update(dimension=8, whitening={"k": 8}, files={})
    (folder / "manifest.json").write_text(json.dumps(data))
    whitened = Encoder(folder, read_manifest(folder, verify=False), SETTINGS, BatcherSettings())
    items = encoder.tokenize(["hello world"])
    plain = encoder.run([EncodeRequest(items[0])])[0].vector
    got = whitened.run([EncodeRequest(items[0])])[0].vector
    assert got.shape == (8,)
    np.testing.assert_allclose(got, apply_whitening(plain[None], transform)[0], atol=1e-5)


def test_tampered_folder_refused(tiny_models_dir, tmp_path):
    folder = tmp_path / "tiny"
    shutil.copytree(tiny_models_dir / "tiny", folder)
    with open(folder / "tokenizer.json", "a") as handle:
        handle.write(" ")
    with pytest.raises(InvalidInput, match="sha256 mismatch"):
        Encoder.load(folder, SETTINGS, BatcherSettings())
    unchecked = ModelSettings(device="cpu", verify_checksums=False)
    assert Encoder.load(folder, unchecked, BatcherSettings()).name == "tiny"


def test_word_pieces_are_the_rows_of_the_token_vectors(encoder):
    (item,) = encoder.tokenize(["hello world"])
    pieces = encoder.tokenizer.word_pieces(item)
    assert pieces == ["hello", "world"]
    (result,) = encoder.run([EncodeRequest(item, want_tokens=True)])
    assert result.token_vectors.shape[0] == len(pieces)
