"""Model-folder manifest: JSON round trip, hashing, tamper detection."""

from __future__ import annotations

import json
import stat

import pytest

from app.engines.manifest import (
    ModelKind,
    ModelManifest,
    OnnxSpec,
    PoolingMode,
    WhiteningSpec,
    read_manifest,
    sha256_file,
    write_manifest,
)
from app.errors import InvalidInput


def sample_manifest(**overrides) -> ModelManifest:
    fields = dict(
        name="m",
        kind=ModelKind.ENCODER,
        architecture="bert",
        pooling=PoolingMode.FIRST_LAST_AVG,
        max_length=64,
        hidden_size=32,
        dimension=16,
        onnx=OnnxSpec(
            outputs={"last_hidden_state": "lhs", "first_layer_hidden_state": "h1"},
            quantization="int8-dynamic",
        ),
        whitening=WhiteningSpec(k=16, beta=0.5, gamma=0.0, fit_corpus="c.txt", n_sentences=9),
        source={"type": "huggingface", "path": "/x"},
    )
    fields.update(overrides)
    return ModelManifest(**fields)


@pytest.fixture()
def folder(tmp_path):
    (tmp_path / "encoder.onnx").write_bytes(b"graph")
    (tmp_path / "tokenizer.json").write_text("{}")
    (tmp_path / "whitening.npz").write_bytes(b"npz")
    return tmp_path


def test_json_round_trip():
    manifest = sample_manifest()
    data = json.loads(json.dumps(manifest.to_json()))
    assert data["pooling"] == "first_last_avg" and data["kind"] == "encoder"
    assert ModelManifest.from_json(data) == manifest


def test_write_hashes_files_and_read_verifies(folder):
    written = write_manifest(folder, sample_manifest())
    assert written.files == {
        "encoder.onnx": sha256_file(folder / "encoder.onnx"),
        "tokenizer.json": sha256_file(folder / "tokenizer.json"),
        "whitening.npz": sha256_file(folder / "whitening.npz"),
    }
    assert read_manifest(folder) == written
    assert stat.S_IMODE((folder / "manifest.json").stat().st_mode) == 0o644
    assert [p.name for p in folder.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize("victim", ["encoder.onnx", "tokenizer.json", "whitening.npz"])
def test_tampered_or_missing_file_detected(folder, victim):
    write_manifest(folder, sample_manifest())
    (folder / victim).write_bytes(b"changed")
    with pytest.raises(InvalidInput, match=f"{victim} sha256 mismatch"):
        read_manifest(folder)
    assert read_manifest(folder, verify=False).name == "m"
    (folder / victim).unlink()
    with pytest.raises(InvalidInput, match=r"mismatch \(missing\)"):
        read_manifest(folder)


def test_bad_manifests(folder):
    with pytest.raises(InvalidInput, match="no manifest.json"):
        read_manifest(folder)
    (folder / "manifest.json").write_text(json.dumps({"name": "x", "pooling": "max"}))
    with pytest.raises(InvalidInput, match="bad manifest.json"):
        read_manifest(folder)
    data = sample_manifest().to_json()
    data["format_version"] = 99
    (folder / "manifest.json").write_text(json.dumps(data))
    with pytest.raises(InvalidInput, match="format_version"):
        read_manifest(folder)
