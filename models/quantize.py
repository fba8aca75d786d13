"""`python -m models quantize`: onnxruntime dynamic int8 quantization into a new model folder.

Weights become int8; activations are quantized per batch at run time, so an int8 model's
vector for a sentence depends slightly on its batch-mates (up to 0.024 per
component, docs/METHODS.md 7.2). The fp32 folder stays the default; int8 is opt-in.
"""

from __future__ import annotations

import argparse
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np

from app.engines.manifest import ModelManifest, write_manifest
from app.engines.pooling import l2_normalize
from app.errors import InvalidInput, SimserveError
from models.encoding import encode_all, load_encoder
from models.export import PARITY_TEXTS
from models.folders import check_new_name, link_files, staged_folder

INT8_DYNAMIC = "int8-dynamic"


class QuantizationTooLossy(SimserveError):
    code = "quantization_too_lossy"


def quantize_onnx(src: Path, dst: Path, *, per_channel: bool = True) -> None:
    """int8 weights (per output channel by default), activations quantized at run time.

    Per-tensor weight scales lost too much on MiniLM (min cosine to fp32 0.88 on a long
    input vs 0.98 per channel), so per channel is the default.
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        quantize_dynamic(
            str(src),
            str(dst),
            weight_type=QuantType.QInt8,
            per_channel=per_channel,
            # needed on transformer-optimizer output (docs/METHODS.md 7.4)
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )


def quantize_model(
    models_dir: str | Path,
    model: str,
    name: str,
    *,
    per_channel: bool = True,
    min_cosine: float = 0.95,
    overwrite: bool = False,
) -> ModelManifest:
    """Quantize `models_dir/model` into `models_dir/name`; check the vectors still agree.

    The int8 vectors of PARITY_TEXTS must have cosine >= min_cosine with the fp32 ones,
    else QuantizationTooLossy and nothing is written. The manifest's source records the
    measured minimum cosine and max abs difference of the normalised vectors.
    """
    models_dir = Path(models_dir)
    target = check_new_name(models_dir, name, overwrite)
    base_encoder = load_encoder(models_dir, model, device="cpu")
    base = base_encoder.manifest
    if base.onnx.quantization:
        raise InvalidInput(f"{model} is already quantized ({base.onnx.quantization})")
    onnx_file = base.onnx.file
    manifest = replace(
        base,
        name=name,
        onnx=replace(base.onnx, quantization=INT8_DYNAMIC),
        files={},
        source={**base.source, "base_model": model},
    )
    with staged_folder(target) as tmp:
        external = {f for f in base.files if f.endswith(".onnx.data")}
        link_files(base_encoder.folder, base, tmp, skip={onnx_file} | external)
        quantize_onnx(base_encoder.folder / onnx_file, tmp / onnx_file, per_channel=per_channel)
        manifest = write_manifest(tmp, manifest)
        cosine, diff = _compare(base_encoder, tmp, manifest)
        if cosine < min_cosine:
            raise QuantizationTooLossy(
                f"{name}: int8 vs fp32 cosine {cosine:.4f} < {min_cosine} on sample sentences"
            )
        manifest = write_manifest(
            tmp,
            replace(
                manifest,
                source={
                    **manifest.source,
                    "int8_per_channel": per_channel,
                    "int8_min_cosine": cosine,
                    "int8_max_abs_diff": diff,
                },
            ),
        )
    return manifest


def _compare(base_encoder, folder: Path, manifest: ModelManifest) -> tuple[float, float]:
    from app.engines.encoder import Encoder
    from app.settings import BatcherSettings, ModelSettings

    quant = Encoder(folder, manifest, ModelSettings(device="cpu"), BatcherSettings())
    texts = list(PARITY_TEXTS)
    a = l2_normalize(encode_all(base_encoder, texts, desc="fp32"))
    b = l2_normalize(encode_all(quant, texts, desc="int8"))
    return float(np.min(np.sum(a * b, axis=1))), float(np.max(np.abs(a - b)))


def run(args: argparse.Namespace) -> int:
    manifest = quantize_model(
        args.models_dir,
        args.model,
        args.name,
        per_channel=args.per_channel,
        overwrite=args.overwrite,
    )
    print(
        f"wrote {Path(args.models_dir) / args.name} ({INT8_DYNAMIC}); vs fp32 on sample "
        f"sentences: min cosine {manifest.source['int8_min_cosine']:.4f}, "
        f"max abs diff {manifest.source['int8_max_abs_diff']:.3g}"
    )
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("quantize", help="dynamic int8 quantization -> new model folder")
    p.add_argument("--model", required=True, help="fp32 model name in --models-dir")
    p.add_argument("--name", required=True, help="new model name, e.g. minilm-int8")
    p.add_argument("--models-dir", default="var/models")
    p.add_argument(
        "--per-channel",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="per-output-channel weight scales (default; --no-per-channel = per tensor)",
    )
    p.add_argument("--overwrite", action="store_true")
    p.set_defaults(func=run)
