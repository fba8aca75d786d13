"""int8 dynamic quantization round trip on the tiny model."""

from __future__ import annotations

import collections

import numpy as np
import onnx
import pytest

from app.engines.manifest import read_manifest
from app.engines.pooling import l2_normalize
from models.__main__ import main
from models.encoding import encode_all, load_encoder
from models.quantize import QuantizationTooLossy, quantize_model
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
