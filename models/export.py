"""Export a Hugging Face / sentence-transformers encoder to a served model folder.

    source dir or hub id -> encoder.onnx (+ transformer fusion) + tokenizer.json + manifest.json

The folder is built in a temporary sibling directory, checked for parity (the ONNX graph run
through `app.engines.encoder.Encoder` with numpy pooling, batched and bucket-padded, against
the torch model pooled in torch on each sentence alone) and only then renamed into place.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from app.engines.encoder import Encoder, EncodeRequest
from app.engines.manifest import ModelKind, ModelManifest, OnnxSpec, PoolingMode, write_manifest
from app.errors import InvalidInput, SimserveError
from app.settings import BatcherSettings, ModelSettings
from models.folders import check_new_name, make_staging_dir, replace_dir
from models.onnx_graph import export_onnx, optimize_onnx
from models.source import inspect_source
from models.tokenizer_files import check_against_transformers, load_source_tokenizer
from models.torch_graph import INPUT_NAMES, EncoderGraph, reference_pool

log = logging.getLogger(__name__)

# Mixed lengths, scripts and casing; the last one is long enough to be truncated.
PARITY_TEXTS = (
    "A man is playing a guitar.",
    "hi",
    "今天天气怎么样？",
    "How do I reset my password if I no longer have access to my email account?",
    "混合 text 中英文 mixed 123",
    "Café déjà vu, naïve résumé.",
    " ".join(["the quick brown fox jumps over the lazy dog"] * 80),
)


class ParityCheckFailed(SimserveError):
    """The exported graph does not reproduce the torch model's vectors."""

    code = "parity_check_failed"


def _load_torch_model(model_dir: Path) -> torch.nn.Module:
    from transformers import AutoModel

    try:
        model = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager")
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"cannot load a transformers model from {model_dir}: {exc}") from None
    return model.eval()


def _uses_token_types(model: torch.nn.Module) -> bool:
    import inspect

    return "token_type_ids" in inspect.signature(model.forward).parameters


def parity_diff(encoder: Encoder, graph: EncoderGraph, texts: tuple[str, ...]) -> float:
    """Max abs difference between served pooled vectors and the torch reference.

    The served side runs all texts as one padded batch; the reference runs each text alone
    (no padding), so padding leaks would show up too.
    """
    items = encoder.tokenize(list(texts))
    served = np.stack([r.vector for r in encoder.run([EncodeRequest(t) for t in items])])
    reference = []
    with torch.inference_mode():
        for item in items:
            ids = torch.from_numpy(item.ids[None, :])
            mask = torch.ones_like(ids)
            outputs = graph(ids, mask, torch.zeros_like(ids))
            reference.append(reference_pool(encoder.manifest.pooling, outputs, mask)[0].numpy())
    return float(np.max(np.abs(served - np.stack(reference))))


def _resolve_max_length(requested: int | None, declared: int | None, config) -> int:
    limit = int(getattr(config, "max_position_embeddings", 512) or 512)
    value = requested or declared or min(limit, 512)
    if not 1 < value <= limit:
        raise InvalidInput(f"max_length must be in 2..{limit} for this model, got {value}")
    return int(value)


def export_model(
    source: str | Path,
    out_dir: str | Path,
    name: str,
    *,
    pooling: PoolingMode | str | None = None,
    max_length: int | None = None,
    kind: ModelKind | str = "encoder",
    normalize: bool | None = None,
    opset: int = 17,
    atol: float = 1e-4,
    optimize: bool = True,
    overwrite: bool = False,
    parity_texts: tuple[str, ...] = PARITY_TEXTS,
) -> ModelManifest:
    """Export `source` to `out_dir/name` and return the written manifest.

    pooling, max_length and normalize default to what the source declares (a
    sentence-transformers Pooling / sentence_bert_config / Normalize module); a plain
    Hugging Face folder declares no pooling, so it must be given. Raises InvalidInput for a
    bad source or arguments and ParityCheckFailed when |ONNX - torch| > atol.
    """
    target = check_new_name(Path(out_dir), name, overwrite)
    info = inspect_source(source)
    mode = PoolingMode.parse(pooling) if pooling is not None else info.pooling
    if mode is None:
        valid = ", ".join(m.value for m in PoolingMode)
        raise InvalidInput(f"{info.model_dir} declares no pooling; choose one of: {valid}")
    model = _load_torch_model(info.model_dir)
    config = model.config
    length = _resolve_max_length(max_length, info.max_length, config)
    graph = EncoderGraph(model, mode, use_token_types=_uses_token_types(model)).eval()

    Path(out_dir).mkdir(parents=True, exist_ok=True)
    tmp = make_staging_dir(target)
    steps = tqdm(total=4, desc=f"export {name}", unit="step", leave=False)
    try:
        steps.set_postfix_str("tokenizer")
        tokenizer, lowercase = load_source_tokenizer(info)
        tokenizer_check = check_against_transformers(info, tokenizer, parity_texts)
        tokenizer.save(str(tmp / "tokenizer.json"))
        steps.set_postfix_str("onnx export")
        output_names = export_onnx(graph, tmp / "raw.onnx", opset)
        steps.update()
        fused = False
        if optimize:
            steps.set_postfix_str("fusion")
            fused = optimize_onnx(tmp / "raw.onnx", tmp / "encoder.onnx", config)
        if not fused:
            (tmp / "raw.onnx").rename(tmp / "encoder.onnx")
        (tmp / "raw.onnx").unlink(missing_ok=True)
        steps.update()
        inputs = INPUT_NAMES if graph.use_token_types else INPUT_NAMES[:2]
        manifest = ModelManifest(
            name=name,
            kind=ModelKind(kind),
            architecture=str(config.model_type),
            pooling=mode,
            max_length=length,
            hidden_size=int(config.hidden_size),
            dimension=int(config.hidden_size),
            normalize=_resolve_normalize(normalize, info.normalize),
            lowercase=lowercase,
            onnx=OnnxSpec(inputs=inputs, outputs=output_names, opset=opset),
            source=dict(info.reference, transformer_fusion=fused, tokenizer_check=tokenizer_check),
        )
        manifest = write_manifest(tmp, manifest)
        steps.set_postfix_str("parity")
        settings = ModelSettings(device="cpu", intra_op_threads=1, warmup=False)
        encoder = Encoder(tmp, manifest, settings, BatcherSettings())
        diff = parity_diff(encoder, graph, parity_texts)
        del encoder
        if not diff <= atol:
            raise ParityCheckFailed(f"{name}: ONNX vs torch max abs diff {diff:.3g} > {atol:g}")
        manifest = write_manifest(tmp, _with_source(manifest, parity_max_abs_diff=diff))
        steps.update()
        replace_dir(tmp, target)
        steps.update()
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        steps.close()
    log.info("exported %s to %s (parity %.2g)", name, target, diff)
    return manifest


def _resolve_normalize(requested: bool | None, declared: bool | None) -> bool:
    """Explicit flag, else the source's Normalize module; a plain HF folder defaults to True."""
    if requested is not None:
        return requested
    return True if declared is None else declared


def _with_source(manifest: ModelManifest, **extra) -> ModelManifest:
    from dataclasses import replace

    return replace(manifest, source={**manifest.source, **extra})
