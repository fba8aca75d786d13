"""The model-folder contract: `manifest.json` next to `encoder.onnx` and `tokenizer.json`.

Written by the offline tools in `models/`, read by the server at start-up. A folder is
self-describing: which ONNX inputs to feed, which outputs carry which hidden states,
how to pool, whether a whitening transform follows, and the sha256 of every file.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from app.enums import parse_enum
from app.errors import InvalidInput

MANIFEST_FILE = "manifest.json"
FORMAT_VERSION = 1


class ModelKind(StrEnum):
    ENCODER = "encoder"
    SIMBERT = "simbert"


class PoolingMode(StrEnum):
    """docs/METHODS.md 1.2. POOLER is the linear pooler Dense over [CLS] (no tanh)."""

    CLS = "cls"
    MEAN = "mean"
    FIRST_LAST_AVG = "first_last_avg"
    POOLER = "pooler"

    @classmethod
    def parse(cls, value: str | PoolingMode) -> PoolingMode:
        return parse_enum(cls, value, "pooling mode")


class OutputRole(StrEnum):
    """What an ONNX output of encoder.onnx holds."""

    LAST_HIDDEN_STATE = "last_hidden_state"  # (batch, seq, hidden) float32
    FIRST_LAYER_HIDDEN_STATE = "first_layer_hidden_state"  # hidden_states[1], (batch, seq, hidden)
    POOLER_DENSE = "pooler_dense"  # pooler Dense over [CLS], no activation, (batch, hidden)


@dataclass(frozen=True)
class OnnxSpec:
    file: str = "encoder.onnx"
    inputs: tuple[str, ...] = ("input_ids", "attention_mask", "token_type_ids")
    outputs: dict[str, str] = field(
        default_factory=lambda: {"last_hidden_state": "last_hidden_state"}
    )
    opset: int = 17
    quantization: str | None = None  # None | "int8-dynamic"


@dataclass(frozen=True)
class WhiteningSpec:
    """y = (x - beta*mu) @ W[:, :k] with W = U diag(s^(-gamma/2)) (docs/METHODS.md 1.1)."""

    file: str = "whitening.npz"  # arrays: mu (hidden,) float32, kernel (hidden, k) float32
    k: int = -1
    beta: float = 1.0
    gamma: float = 1.0
    fit_corpus: str = ""
    n_sentences: int = 0


@dataclass(frozen=True)
class ModelManifest:
    name: str
    kind: ModelKind
    architecture: str  # "bert" | "roformer" | ...
    pooling: PoolingMode
    max_length: int
    hidden_size: int
    dimension: int  # served vector size (whitening k when whitened)
    normalize: bool = True
    lowercase: bool = False
    onnx: OnnxSpec = field(default_factory=OnnxSpec)
    tokenizer_file: str = "tokenizer.json"
    whitening: WhiteningSpec | None = None
    generator: dict[str, Any] | None = None  # kind == simbert: owned by app.generation
    files: dict[str, str] = field(default_factory=dict)  # relative path -> sha256
    source: dict[str, Any] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["kind"] = self.kind.value
        data["pooling"] = self.pooling.value
        data["onnx"]["inputs"] = list(self.onnx.inputs)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ModelManifest:
        data = dict(data)
        version = data.get("format_version", FORMAT_VERSION)
        if version != FORMAT_VERSION:
            raise ValueError(f"unsupported manifest format_version {version}")
        onnx = dict(data.pop("onnx", {}))
        onnx["inputs"] = tuple(onnx.get("inputs", OnnxSpec().inputs))
        whitening = data.pop("whitening", None)
        return cls(
            kind=ModelKind(data.pop("kind", "encoder")),
            pooling=PoolingMode.parse(data.pop("pooling")),
            onnx=OnnxSpec(**onnx),
            whitening=WhiteningSpec(**whitening) if whitening else None,
            **data,
        )

    def with_files_hashed(self, folder: Path) -> ModelManifest:
        """Return a copy whose `files` lists every referenced file with its sha256."""
        names = [self.onnx.file, self.tokenizer_file]
        if self.whitening:
            names.append(self.whitening.file)
        names += list((self.generator or {}).get("files", []))
        extra = [p.name for p in folder.iterdir() if p.is_file() and p.name.endswith(".onnx.data")]
        return replace(self, files={n: sha256_file(folder / n) for n in sorted(set(names + extra))})


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_manifest(folder: Path, manifest: ModelManifest) -> ModelManifest:
    """Hash the folder's files into the manifest and write it atomically. Returns what was written."""
    folder = Path(folder)
    manifest = manifest.with_files_hashed(folder)
    payload = json.dumps(manifest.to_json(), indent=2, ensure_ascii=False) + "\n"
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".manifest.", suffix=".tmp")
    os.chmod(tmp, 0o644)  # mkstemp makes it 0600; the server may run as another user
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(payload)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, folder / MANIFEST_FILE)
    return manifest


def read_manifest(folder: Path, *, verify: bool = True) -> ModelManifest:
    """Load `folder/manifest.json`; with `verify`, check every file's sha256."""
    folder = Path(folder)
    path = folder / MANIFEST_FILE
    try:
        manifest = ModelManifest.from_json(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise InvalidInput(f"no {MANIFEST_FILE} in model folder {folder}") from None
    except (ValueError, TypeError, KeyError) as exc:
        raise InvalidInput(f"bad {MANIFEST_FILE} in {folder}: {exc}") from None
    if verify:
        for name, expected in manifest.files.items():
            actual = sha256_file(folder / name) if (folder / name).exists() else "missing"
            if actual != expected:
                raise InvalidInput(f"model folder {folder}: {name} sha256 mismatch ({actual})")
    return manifest
