"""int8 quantization (dynamic and static) on the tiny model."""

from __future__ import annotations

import collections

import numpy as np
import onnx
import pytest

from app.engines.encoder import EncodeRequest
from app.engines.manifest import read_manifest
from app.engines.pooling import l2_normalize
from app.errors import InvalidInput
from models.__main__ import main
from models.encoding import encode_all, load_encoder
from models.quantize import QuantizationTooLossy, QuantMode, quantize_model
from tests.conftest import copy_models_dir

TEXTS = ["hello world", "a man is playing a guitar", "今天天气怎么样", "the lazy dog sleeps"]


@pytest.fixture()
def models_dir(tiny_models_dir, tmp_path):
    return copy_models_dir(tiny_models_dir, tmp_path / "models")


@pytest.mark.parametrize("per_channel", [False, True])
def test_quantize_round_trip(models_dir, per_channel, capsys):
    argv = ["quantize", "--model", "tiny", "--name", "tiny-int8", "--models-dir", str(models_dir)]
    assert main(argv + ([] if per_channel else ["--no-per-channel"])) == 0
    assert "int8-dynamic" in capsys.readouterr().out
    manifest = read_manifest(models_dir / "tiny-int8")
    base = read_manifest(models_dir / "tiny")
    assert manifest.onnx.quantization == "int8-dynamic" and base.onnx.quantization is None
    assert manifest.pooling is base.pooling and manifest.dimension == base.dimension
    assert manifest.files["tokenizer.json"] == base.files["tokenizer.json"]
    assert manifest.files["encoder.onnx"] != base.files["encoder.onnx"]
    assert manifest.source["base_model"] == "tiny"
    assert manifest.source["int8_per_channel"] is per_channel
    assert manifest.source["int8_min_cosine"] >= 0.95
    ops = collections.Counter(
        n.op_type for n in onnx.load(models_dir / "tiny-int8" / "encoder.onnx").graph.node
    )
    assert ops["DynamicQuantizeLinear"] > 0 and (ops["MatMulInteger"] + ops["QAttention"]) > 0
    size = lambda n: (models_dir / n / "encoder.onnx").stat().st_size  # noqa: E731
    assert size("tiny-int8") < size("tiny")
    fp32 = l2_normalize(encode_all(load_encoder(models_dir, "tiny"), TEXTS))
    int8 = l2_normalize(encode_all(load_encoder(models_dir, "tiny-int8"), TEXTS))
    assert np.min(np.sum(fp32 * int8, axis=1)) >= 0.95
    assert np.max(np.abs(fp32 - int8)) > 0  # it really is a different graph


def test_quantize_refuses_twice_and_lossy(models_dir):
    quantize_model(models_dir, "tiny", "q")
    with pytest.raises(Exception, match="already quantized"):
        quantize_model(models_dir, "q", "qq")
    with pytest.raises(QuantizationTooLossy, match="cosine"):
        quantize_model(models_dir, "tiny", "q2", min_cosine=1.01)
    assert not (models_dir / "q2").exists()


CALIBRATION = [
    "a man is playing a guitar",
    "the quick brown fox jumps over the lazy dog",
    "how do i reset my password",
    "what is the weather today",
    "今天天气怎么样",
    "忘记密码怎么办",
    "a woman plays the piano and a man plays the guitar",
    "cats and dogs",
]
MATES = [
    ["hi"],
    ["the quick brown fox jumps over the lazy dog and the cat sleeps"],
    ["how do i reset my password if i have no longer access to my email account", "dog"],
]


def batch_drift(encoder, text: str) -> float:
    """Max abs change of `text`'s pooled vector between alone and each set of batch-mates."""
    alone = encoder.run([EncodeRequest(t) for t in encoder.tokenize([text])])[0].vector
    drift = 0.0
    for mates in MATES:
        together = encoder.run([EncodeRequest(t) for t in encoder.tokenize([text, *mates])])
        drift = max(drift, float(np.max(np.abs(together[0].vector - alone))))
    return drift


def test_static_round_trip_through_cli(models_dir, tmp_path, capsys):
    calibration = tmp_path / "calibration.txt"
    calibration.write_text("\n".join(CALIBRATION) + "\n", encoding="utf-8")
    argv = ["quantize", "--model", "tiny", "--name", "tiny-static", "--models-dir", str(models_dir)]
    assert main(argv + ["--mode", "static", "--calibration", str(calibration)]) == 0
    assert "int8-static" in capsys.readouterr().out
    manifest = read_manifest(models_dir / "tiny-static")
    assert manifest.onnx.quantization == "int8-static"
    assert manifest.source["int8_calibration_sentences"] == len(CALIBRATION)
    assert manifest.source["int8_min_cosine"] >= 0.95
    ops = collections.Counter(
        n.op_type for n in onnx.load(models_dir / "tiny-static" / "encoder.onnx").graph.node
    )
    # activations quantized with fixed scales: QuantizeLinear nodes, no run-time scales
    assert ops["QuantizeLinear"] > 0 and ops["DynamicQuantizeLinear"] == 0


def test_static_needs_calibration(models_dir):
    argv = ["quantize", "--model", "tiny", "--name", "s", "--models-dir", str(models_dir)]
    assert main(argv + ["--mode", "static"]) == 2
    with pytest.raises(InvalidInput, match="calibration"):
        quantize_model(models_dir, "tiny", "s", mode=QuantMode.STATIC)
    assert not (models_dir / "s").exists()


def test_static_vectors_do_not_depend_on_batch_mates(models_dir):
    quantize_model(models_dir, "tiny", "static", mode=QuantMode.STATIC, calibration=CALIBRATION)
    quantize_model(models_dir, "tiny", "dynamic")
    static, dynamic = (load_encoder(models_dir, n, device="cpu") for n in ("static", "dynamic"))
    for text in TEXTS:
        assert batch_drift(static, text) <= 1e-6
    # the defect static quantization removes: dynamic scales follow the batch's range
    assert max(batch_drift(dynamic, text) for text in TEXTS) > 1e-3
