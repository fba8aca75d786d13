"""Model folders for the race: this service's exports and infinity-emb's ONNX folder."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SERVED = ("minilm", "minilm-int8")


def read_sentences(stsb: Path, fallback: Path) -> list[str]:
    """Distinct sentences of the STS-B dev pairs (both columns), else of the fallback file."""
    if stsb.exists():
        with stsb.open(encoding="utf-8") as f:
            rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
        texts = [r[c] for r in rows for c in ("sentence1", "sentence2")]
    else:
        texts = fallback.read_text(encoding="utf-8").splitlines()
    return list(dict.fromkeys(t.strip() for t in texts if t.strip()))


def ensure_models(models_dir: Path) -> dict[str, str]:
    """Export `minilm` and `minilm-int8` with scripts/export-models.sh when missing.

    Returns {model: reason} for the folders still missing afterwards (the race goes on
    without them and says why)."""
    if not all((models_dir / name / "manifest.json").exists() for name in SERVED):
        env = {**os.environ, "PYTHON": sys.executable}
        proc = subprocess.run(
            ["bash", str(ROOT / "scripts" / "export-models.sh"), str(models_dir)],
            env=env,
            capture_output=True,
            text=True,
        )
        reason = (proc.stdout + proc.stderr).strip().splitlines()[-1:] or ["no output"]
    return {
        name: f"export-models.sh failed: {reason[0][:300]}"
        for name in SERVED
        if not (models_dir / name / "manifest.json").exists()
    }


def infinity_folder(st_dir: Path, work_dir: Path) -> Path:
    """The sentence-transformers folder with ``model.onnx`` at its root (infinity's optimum
    engine looks there): symlinks to the original files plus a plain fp32 ONNX export
    (eager attention, opset 17, output ``last_hidden_state``, no fusion), made once and cached."""
    folder = work_dir / "infinity-minilm"
    onnx_path = folder / "model.onnx"
    if onnx_path.exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    for item in st_dir.iterdir():
        link = folder / item.name
        if not link.exists():
            link.symlink_to(item)
    # The project's own exporter (plain graph, no fusion): mean pooling needs only
    # last_hidden_state, which is what infinity's optimum engine reads.
    from transformers import AutoModel

    from app.engines.manifest import PoolingMode
    from models.onnx_graph import export_onnx
    from models.torch_graph import EncoderGraph

    bert = AutoModel.from_pretrained(str(st_dir), attn_implementation="eager").eval()
    graph = EncoderGraph(bert, PoolingMode.MEAN).eval()
    tmp = folder / "model.onnx.tmp"
    export_onnx(graph, tmp)
    tmp.rename(onnx_path)
    return folder
