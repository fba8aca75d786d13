"""Understand an export source: a sentence-transformers dir, a Hugging Face dir, or a hub id.

Returns a `SourceInfo` saying where the transformer weights are, which tokenizer files exist
and what the source itself says about pooling, max length and normalisation.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.engines.manifest import PoolingMode
from app.errors import InvalidInput

# sentence-transformers Pooling config flag -> our mode (only the modes we serve)
_ST_POOLING_FLAGS = {
    "pooling_mode_cls_token": PoolingMode.CLS,
    "pooling_mode_mean_tokens": PoolingMode.MEAN,
}
_ST_UNSUPPORTED_FLAGS = (
    "pooling_mode_max_tokens",
    "pooling_mode_mean_sqrt_len_tokens",
    "pooling_mode_weightedmean_tokens",
    "pooling_mode_lasttoken",
)
_HUB_PATTERNS = ["*.json", "*.txt", "*.model", "1_Pooling/*", "2_Normalize/*"]


@dataclass(frozen=True)
class SourceInfo:
    """What the export needs to know about a source model."""

    model_dir: Path  # folder with config.json + weights (the ST Transformer module's folder)
    kind: str  # "sentence-transformers" | "huggingface"
    pooling: PoolingMode | None  # what the source declares, None if it does not say
    max_length: int | None
    normalize: bool | None
    st_lowercase: bool  # sentence_bert_config do_lower_case (lowercases before tokenizing)
    reference: dict[str, Any]  # recorded as manifest.source (how to reload the reference)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"cannot read {path}: {exc}") from None


def _st_pooling(config: dict[str, Any], path: Path) -> PoolingMode:
    if "pooling_mode" in config:  # sentence-transformers >= 6: {"pooling_mode": "mean"}
        mode = config["pooling_mode"]
        modes = [mode] if isinstance(mode, str) else list(mode)
        if modes in (["mean"], ["cls"]):
            return PoolingMode(modes[0])
        raise InvalidInput(
            f"{path}: only cls or mean pooling is supported, found {mode!r}; "
            "pass --pooling to override"
        )
    unsupported = [f for f in _ST_UNSUPPORTED_FLAGS if config.get(f)]
    chosen = [mode for flag, mode in _ST_POOLING_FLAGS.items() if config.get(flag)]
    if unsupported or len(chosen) != 1:
        raise InvalidInput(
            f"{path}: only a single cls or mean pooling is supported, found {config}; "
            "pass --pooling to override"
        )
    return chosen[0]


def _inspect_st_dir(root: Path) -> SourceInfo:
    modules = json.loads((root / "modules.json").read_text(encoding="utf-8"))
    model_dir, pooling, normalize, max_length, lowercase = root, None, False, None, False
    for module in modules:
        kind = module.get("type", "").rsplit(".", 1)[-1]
        path = root / module.get("path", "")
        if kind == "Transformer":
            model_dir = path
            st_config = root / "sentence_bert_config.json"
            if not st_config.exists():
                st_config = path / "sentence_bert_config.json"
            if st_config.exists():
                cfg = _read_json(st_config)
                max_length = cfg.get("max_seq_length")
                lowercase = bool(cfg.get("do_lower_case", False))
            tok_config = path / "tokenizer_config.json"
            if max_length is None and tok_config.exists():
                # sentence-transformers >= 6 keeps it as the tokenizer's model_max_length
                declared = _read_json(tok_config).get("model_max_length")
                if isinstance(declared, int) and declared < 100_000:
                    max_length = declared
        elif kind == "Pooling":
            pooling = _st_pooling(_read_json(path / "config.json"), path)
        elif kind == "Normalize":
            normalize = True
        else:
            raise InvalidInput(
                f"{root}: sentence-transformers module {module.get('type')} is not supported "
                "(only Transformer, Pooling, Normalize)"
            )
    return SourceInfo(
        model_dir, "sentence-transformers", pooling, max_length, normalize, lowercase, {}
    )


def _download(hub_id: str) -> Path:
    try:
        from huggingface_hub import list_repo_files, snapshot_download

        weights = ["*.safetensors", "pytorch_model*.bin"]  # offline: whatever the cache has
        try:
            # safetensors when the repo has them, else the PyTorch .bin (older Chinese BERTs)
            if any(f.endswith(".safetensors") for f in list_repo_files(hub_id)):
                weights = ["*.safetensors"]
        except Exception:  # noqa: BLE001 - offline or unreachable: snapshot_download decides
            pass
        return Path(snapshot_download(hub_id, allow_patterns=_HUB_PATTERNS + weights))
    except Exception as exc:  # offline, unknown repo, auth: one clear message
        offline = os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0")
        hint = " (HF_HUB_OFFLINE is set)" if offline else ""
        raise InvalidInput(
            f"{hub_id!r} is not a local folder and could not be fetched from the Hugging Face "
            f"hub{hint}: {type(exc).__name__}: {exc}. Download the model elsewhere and pass "
            "its folder to --source."
        ) from None


def inspect_source(source: str | Path) -> SourceInfo:
    """Resolve `source` (local dir or hub id) and read what it declares."""
    path = Path(source).expanduser()
    hub_id = None
    if not path.exists():
        text = str(source)
        if text.startswith((".", "/", "~")) or text.count("/") > 1 or not text:
            raise InvalidInput(f"source folder {source} does not exist")
        hub_id = text
        path = _download(text)
    path = path.resolve()
    if (path / "modules.json").exists():
        info = _inspect_st_dir(path)
    elif (path / "config.json").exists():
        info = SourceInfo(path, "huggingface", None, None, None, False, {})
    else:
        raise InvalidInput(f"{path} has neither modules.json nor config.json: not a model folder")
    if not (info.model_dir / "config.json").exists():
        raise InvalidInput(f"{info.model_dir} has no config.json")
    has_tok = (info.model_dir / "tokenizer.json").exists() or (
        info.model_dir / "vocab.txt"
    ).exists()
    if not has_tok:
        raise InvalidInput(f"{info.model_dir} has neither tokenizer.json nor vocab.txt")
    reference = {"type": info.kind, "path": str(path)}
    if hub_id:
        reference["hub_id"] = hub_id
    return SourceInfo(
        info.model_dir,
        info.kind,
        info.pooling,
        info.max_length,
        info.normalize,
        info.st_lowercase,
        reference,
    )
