"""`python -m models export` and source detection."""

from __future__ import annotations

import collections
import json
import subprocess
import sys

import onnx
import pytest

from app.engines.manifest import PoolingMode, read_manifest
from app.errors import InvalidInput
from models.__main__ import build_parser, main
from models.source import inspect_source


def test_export_cli_options(tiny_source_dir, tmp_path, capsys):
    argv = ["export", "--source", str(tiny_source_dir), "--out", str(tmp_path)]
    assert main(argv + ["--name", "c", "--pooling", "cls", "--max-length", "32"]) == 0
    assert "pooling cls, dim 32, max_length 32" in capsys.readouterr().out
    manifest = read_manifest(tmp_path / "c")
    assert manifest.pooling is PoolingMode.CLS and manifest.max_length == 32
    assert manifest.normalize is True and manifest.source["transformer_fusion"] is True
    fused = collections.Counter(
        n.op_type for n in onnx.load(tmp_path / "c" / "encoder.onnx").graph.node
    )
    assert fused["Attention"] == 2  # one fused attention per layer

    assert (
        main(argv + ["--name", "p", "--pooling", "mean", "--normalize", "false", "--no-optimize"])
        == 0
    )
    plain = read_manifest(tmp_path / "p")
    assert plain.normalize is False and plain.source["transformer_fusion"] is False
    ops = collections.Counter(
        n.op_type for n in onnx.load(tmp_path / "p" / "encoder.onnx").graph.node
    )
    assert ops["Attention"] == 0 and ops["Softmax"] == 2

    assert main(argv + ["--name", "nopool"]) == 2
    assert "declares no pooling; choose one of: cls, mean" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        build_parser().parse_args(argv + ["--name", "x", "--pooling", "max"])


def test_module_entry_point_help():
    out = subprocess.run(
        [sys.executable, "-m", "models", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for command in ("export", "export-default", "quantize", "fit-whitening", "eval-sts"):
        assert command in out


def write_st_layout(root, pooling_config: dict, source) -> None:
    for name in ("config.json", "model.safetensors", "vocab.txt"):
        (root / name).symlink_to(source / name)
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {
            "idx": 1,
            "name": "1",
            "path": "1_Pooling",
            "type": "sentence_transformers.models.Pooling",
        },
    ]
    (root / "modules.json").write_text(json.dumps(modules))
    (root / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 40}))
    (root / "1_Pooling").mkdir()
    (root / "1_Pooling" / "config.json").write_text(json.dumps(pooling_config))


def test_sentence_transformers_v2_pooling_flags(tiny_source_dir, tmp_path):
    cls_only = {"word_embedding_dimension": 32, "pooling_mode_cls_token": True}
    write_st_layout(tmp_path, cls_only | {"pooling_mode_mean_tokens": False}, tiny_source_dir)
    info = inspect_source(tmp_path)
    assert info.kind == "sentence-transformers" and info.pooling is PoolingMode.CLS
    assert info.max_length == 40 and info.normalize is False
    (tmp_path / "1_Pooling" / "config.json").write_text(
        json.dumps({"pooling_mode_max_tokens": True})
    )
    with pytest.raises(InvalidInput, match="only a single cls or mean pooling"):
        inspect_source(tmp_path)
    (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps({"pooling_mode": "lasttoken"}))
    with pytest.raises(InvalidInput, match="only cls or mean"):
        inspect_source(tmp_path)


def test_not_a_model_folder(tmp_path):
    with pytest.raises(InvalidInput, match="neither modules.json nor config.json"):
        inspect_source(tmp_path)
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(InvalidInput, match="neither tokenizer.json nor vocab.txt"):
        inspect_source(tmp_path)
