"""`python -m models quantize`: onnxruntime int8 quantization into a new model folder.

Weights become int8 (per output channel). `--mode dynamic` (default) quantizes activations
per batch at run time, so a vector depends slightly on its batch-mates (up to 0.024 per
component, docs/METHODS.md 7.2). `--mode static` fixes every activation scale beforehand
from calibration sentences (QDQ format): the same sentence gets the same vector whatever
its batch. The fp32 folder stays the default; int8 is opt-in.
"""

from __future__ import annotations

import argparse
import tempfile
import warnings
from dataclasses import replace
from enum import StrEnum
from pathlib import Path

import numpy as np

from app.engines.manifest import ModelManifest, write_manifest
from app.engines.pooling import l2_normalize
from app.errors import InvalidInput, SimserveError
from models.calibration import SentenceFeeds, sample_sentences
from models.corpus import read_sentences
from models.encoding import encode_all, load_encoder
from models.export import PARITY_TEXTS
from models.folders import check_new_name, link_files, staged_folder


class QuantMode(StrEnum):
    DYNAMIC = "dynamic"  # activation scales per batch at run time
    STATIC = "static"  # activation scales calibrated once (batch-invariant vectors)


INT8_DYNAMIC = "int8-dynamic"
INT8_STATIC = "int8-static"
LABELS = {QuantMode.DYNAMIC: INT8_DYNAMIC, QuantMode.STATIC: INT8_STATIC}


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


def quantize_onnx_static(
    src: Path, dst: Path, feeds: SentenceFeeds, *, per_channel: bool = True
) -> None:
    """int8 weights and activations, scales fixed from `feeds` (MinMax), QDQ format.

    Only MatMuls with constant weights are quantized (uint8 activations x int8 weights,
    onnxruntime fuses each into MatMulIntegerToFloat); their outputs stay float: quantizing
    them too cost 0.5 STS-B Spearman on MiniLM against 0.1 without. The fused Attention,
    SkipLayerNormalization and BiasGelu nodes stay fp32. The fused graph's contrib ops need
    symbolic shape inference first, else no activation gets a calibrated range.
    """
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    with warnings.catch_warnings(), tempfile.TemporaryDirectory() as tmp:
        warnings.simplefilter("ignore")
        inferred = Path(tmp) / "inferred.onnx"
        quant_pre_process(str(src), str(inferred), skip_optimization=True)
        quantize_static(
            str(inferred),
            str(dst),
            feeds,
            quant_format=QuantFormat.QDQ,
            op_types_to_quantize=["MatMul"],
            per_channel=per_channel,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.MinMax,
            extra_options={
                "DefaultTensorType": onnx.TensorProto.FLOAT,
                "MatMulConstBOnly": True,
                "OpTypesToExcludeOutputQuantization": ["MatMul"],
            },
        )


def quantize_model(
    models_dir: str | Path,
    model: str,
    name: str,
    *,
    per_channel: bool = True,
    min_cosine: float = 0.95,
    overwrite: bool = False,
    mode: QuantMode = QuantMode.DYNAMIC,
    calibration: list[str] | None = None,
) -> ModelManifest:
    """Quantize `models_dir/model` into `models_dir/name`; check the vectors still agree.

    `mode=STATIC` needs `calibration`: sentences (e.g. from the training data) whose
    activation ranges fix the scales.

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
    if mode is QuantMode.STATIC and not calibration:
        raise InvalidInput("static quantization needs calibration sentences", param="calibration")
    onnx_file = base.onnx.file
    manifest = replace(
        base,
        name=name,
        onnx=replace(base.onnx, quantization=LABELS[mode]),
        files={},
        source={**base.source, "base_model": model},
    )
    with staged_folder(target) as tmp:
        external = {f for f in base.files if f.endswith(".onnx.data")}
        link_files(base_encoder.folder, base, tmp, skip={onnx_file} | external)
        src, dst = base_encoder.folder / onnx_file, tmp / onnx_file
        if mode is QuantMode.STATIC:
            feeds = SentenceFeeds(base_encoder, calibration or [])
            quantize_onnx_static(src, dst, feeds, per_channel=per_channel)
        else:
            quantize_onnx(src, dst, per_channel=per_channel)
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
                    **(
                        {"int8_calibration_sentences": len(calibration or [])}
                        if mode is QuantMode.STATIC
                        else {}
                    ),
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
    mode = QuantMode(args.mode)
    calibration = None
    if mode is QuantMode.STATIC:
        if args.calibration is None:
            raise InvalidInput("--mode static needs --calibration FILE", param="calibration")
        calibration = sample_sentences(read_sentences(args.calibration), args.calibration_size)
    manifest = quantize_model(
        args.models_dir,
        args.model,
        args.name,
        per_channel=args.per_channel,
        overwrite=args.overwrite,
        mode=mode,
        calibration=calibration,
    )
    print(
        f"wrote {Path(args.models_dir) / args.name} ({LABELS[mode]}); vs fp32 on sample "
        f"sentences: min cosine {manifest.source['int8_min_cosine']:.4f}, "
        f"max abs diff {manifest.source['int8_max_abs_diff']:.3g}"
    )
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("quantize", help="int8 quantization (dynamic or static) -> new model folder")
    p.add_argument("--model", required=True, help="fp32 model name in --models-dir")
    p.add_argument("--name", required=True, help="new model name, e.g. minilm-int8")
    p.add_argument("--models-dir", default="var/models")
    p.add_argument(
        "--per-channel",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="per-output-channel weight scales (default; --no-per-channel = per tensor)",
    )
    p.add_argument(
        "--mode",
        choices=[m.value for m in QuantMode],
        default=QuantMode.DYNAMIC.value,
        help="dynamic: activation scales per batch; static: calibrated once, batch-invariant",
    )
    p.add_argument(
        "--calibration",
        type=Path,
        help="static: sentences to calibrate on (pairs .tsv -> both columns; else one a line)",
    )
    p.add_argument(
        "--calibration-size", type=int, default=256, help="static: sentences drawn (seeded)"
    )
    p.add_argument("--overwrite", action="store_true")
    p.set_defaults(func=run)
