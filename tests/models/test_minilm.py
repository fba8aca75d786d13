"""The packaged all-MiniLM-L6-v2 as `minilm`: export-default, parity with sentence-transformers."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from app.engines.manifest import PoolingMode, read_manifest
from app.engines.pooling import l2_normalize
from models.cli_export import DEFAULT_PACKAGE, export_default, folder_is_valid
from models.encoding import encode_all, load_encoder
from models.eval_sts import reference_source

pytestmark = pytest.mark.slow

SENTENCES = [
    "A man is playing a guitar.",
    "A woman is slicing an onion.",
    "Two dogs are running through a field of tall grass.",
    "How can I reset my password?",
    "I forgot my password, what should I do?",
    "The stock market fell sharply on Monday after weak earnings reports.",
    "ok",
    "Café déjà vu: naïve résumé!",
    "今天天气怎么样？",
    " ".join(["a very long sentence that will be truncated at the maximum length"] * 40),
]


def test_export_default_folder(minilm_models_dir, capsys):
    folder = minilm_models_dir / "minilm"
    manifest = read_manifest(folder)
    assert manifest.pooling is PoolingMode.MEAN and manifest.normalize is True
    assert manifest.dimension == manifest.hidden_size == 384 and manifest.max_length == 256
    assert manifest.source["package"] == DEFAULT_PACKAGE
    assert manifest.source["transformer_fusion"] is True
    assert manifest.source["parity_max_abs_diff"] <= 1e-4
    before = (folder / "encoder.onnx").stat().st_mtime_ns
    assert export_default(minilm_models_dir) == []  # hashes verify: nothing rewritten
    assert "up to date" in capsys.readouterr().out
    assert (folder / "encoder.onnx").stat().st_mtime_ns == before


def test_tampered_default_is_not_valid(minilm_models_dir, tmp_path):
    copy = tmp_path / "minilm"
    shutil.copytree(minilm_models_dir / "minilm", copy)
    assert folder_is_valid(copy, package=DEFAULT_PACKAGE)
    assert not folder_is_valid(copy, package="other")
    with open(copy / "tokenizer.json", "a") as handle:
        handle.write("\n")
    assert not folder_is_valid(copy, package=DEFAULT_PACKAGE)


def test_vectors_match_sentence_transformers(minilm_models_dir):
    from sentence_transformers import SentenceTransformer

    encoder = load_encoder(minilm_models_dir, "minilm", device="cpu")
    served = l2_normalize(encode_all(encoder, SENTENCES, batch_size=4))
    source = reference_source(encoder.manifest.source)
    reference = SentenceTransformer(source, device="cpu").encode(SENTENCES, batch_size=3)
    np.testing.assert_allclose(served, reference, atol=1e-4, rtol=0)


def test_int8_variant(minilm_models_dir, tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    (models / "minilm").symlink_to(minilm_models_dir / "minilm")
    assert export_default(models, int8=True) == [models / "minilm-int8"]
    assert export_default(models, int8=True) == []  # both up to date now
    manifest = read_manifest(models / "minilm-int8")
    assert manifest.onnx.quantization == "int8-dynamic" and manifest.source["int8_per_channel"]
    assert manifest.source["base_sha256"] == read_manifest(models / "minilm").files["encoder.onnx"]
    assert manifest.source["int8_min_cosine"] >= 0.95
    fp32 = l2_normalize(encode_all(load_encoder(models, "minilm"), SENTENCES))
    int8 = l2_normalize(encode_all(load_encoder(models, "minilm-int8"), SENTENCES))
    cosine = np.sum(fp32 * int8, axis=1)
    # a one-word input ("ok") moves most (measured 0.934); real sentences stay >= 0.98
    short = np.array([len(s.split()) < 2 for s in SENTENCES])
    assert cosine[short].min() >= 0.9 and cosine[~short].min() >= 0.98
    small = (models / "minilm-int8" / "encoder.onnx").stat().st_size
    assert small < 0.4 * (models / "minilm" / "encoder.onnx").stat().st_size
