"""Export a finished bilingual run as served model folders (fp32 and int8)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from app.engines.manifest import PoolingMode, write_manifest
from models.bilingual.folder import RECORD
from models.bilingual.train import PROGRESS_FILE
from models.export import export_model
from models.quantize import quantize_model

FP32_SUFFIX = "-fp32"


def training_record(checkpoint: Path, run_dir: Path) -> dict:
    """What the manifest says about how the weights were made (vocabulary + run)."""
    train_dir = checkpoint.parent
    progress = json.loads((train_dir / PROGRESS_FILE).read_text(encoding="utf-8"))
    return {
        "extend_vocab": json.loads((run_dir / "extended" / RECORD).read_text(encoding="utf-8")),
        "training": json.loads((train_dir / "config.json").read_text(encoding="utf-8")),
        "training_steps": progress["step"],
        "training_minutes": round(progress["seconds"] / 60, 1),
    }


def publish(
    checkpoint: Path, run_dir: Path, models_dir: Path, name: str, int8: bool, overwrite: bool
) -> list[Path]:
    """`models_dir/NAME-fp32` (parity-checked ONNX) and, with int8, `models_dir/NAME`.

    The int8 folder takes the plain name because it is the one shipped under models/zoo
    (size limit); the fp32 one is what this command rebuilds for exact, batch-independent
    vectors. Returns the folders written.
    """
    fp32 = name + FP32_SUFFIX
    manifest = export_model(
        checkpoint, models_dir, fp32, pooling=PoolingMode.MEAN, normalize=True, overwrite=overwrite
    )
    record = training_record(checkpoint, run_dir)
    write_manifest(models_dir / fp32, replace(manifest, source={**manifest.source, **record}))
    written = [models_dir / fp32]
    if int8:
        quantize_model(models_dir, fp32, name, overwrite=overwrite)
        written.append(models_dir / name)
    return written

