"""fit-threshold on the tiny model: CLI -> calibration JSON that the server accepts as-is."""

from __future__ import annotations

import json

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.api.app import create_app
from app.engines.manifest import read_manifest
from app.index.calibration import Calibration, model_fingerprint
from models.__main__ import main
from models.encoding import load_encoder
from models.fit_threshold import pair_cosines
from tests.app.api.conftest import tiny_settings
from tests.tiny_models import WORDS


def write_pairs(path, rows) -> None:
    lines = ["sentence1\tsentence2\tscore"] + [f"{a}\t{b}\t{s}" for a, b, s in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def labelled(n: int = 30, seed: int = 0) -> list[tuple[str, str, int]]:
    """Positives: a sentence and itself with one word dropped; negatives: two random ones."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        words = list(rng.choice(WORDS, size=8))
        if i % 2:
            rows.append((" ".join(words), " ".join(words[1:]), 1))
        else:
            rows.append((" ".join(words), " ".join(rng.choice(WORDS, size=8)), 0))
    return rows


def test_cli_writes_a_calibration_the_server_takes(tiny_models_dir, tmp_path, capsys):
    data, out = tmp_path / "pairs.tsv", tmp_path / "cal.json"
    rows = labelled()
    write_pairs(data, rows)
    args = ["fit-threshold", "--model", "tiny", "--data", str(data), "--out", str(out)]
    assert main([*args, "--models-dir", str(tiny_models_dir)]) == 0
    assert "threshold" in capsys.readouterr().err
    cal = Calibration.from_dict(json.loads(out.read_text()))
    assert cal.model == "tiny" and cal.pairs == 30 and cal.positives == 15
    files = read_manifest(tiny_models_dir / "tiny").files
    assert cal.fingerprint == model_fingerprint(files)
    # the threshold is the accuracy-optimal cut of the cosines the served path computes
    cos = pair_cosines(
        load_encoder(tiny_models_dir, "tiny"), [r[0] for r in rows], [r[1] for r in rows]
    )
    labels = np.array([r[2] for r in rows])
    assert np.mean((cos >= cal.threshold) == labels) == pytest.approx(cal.accuracy)

    settings = tiny_settings(tiny_models_dir, collections={"data_dir": str(tmp_path / "c")})
    with TestClient(create_app(settings)) as api:
        assert api.put("/collections/faq", json={"index": {"kind": "flat"}}).status_code == 201
        r = api.put("/collections/faq/calibration", json={"calibration": cal.to_dict()})
        assert r.status_code == 200, r.text
        assert r.json()["threshold"] == pytest.approx(cal.threshold)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([("a b", "a b", 1)] * 25, "one class only"),
        (labelled(8), "too few pairs: 8"),
        ([*labelled(24), ("a b", "c d", "nan")], "pairs.tsv:26: score 'nan' is not finite"),
        ([*labelled(24), ("a b", "c d", 2)], "labels must be 0 or 1; index 24"),
    ],
)
def test_bad_pairs_exit_2_naming_the_problem(tiny_models_dir, tmp_path, capsys, rows, message):
    data = tmp_path / "pairs.tsv"
    write_pairs(data, rows)
    args = ["fit-threshold", "--model", "tiny", "--data", str(data)]
    assert main([*args, "--models-dir", str(tiny_models_dir)]) == 2
    assert message in capsys.readouterr().err


def test_unknown_model_exits_2(tiny_models_dir, tmp_path, capsys):
    data = tmp_path / "pairs.tsv"
    write_pairs(data, labelled())
    args = ["fit-threshold", "--model", "nope", "--data", str(data)]
    assert main([*args, "--models-dir", str(tiny_models_dir)]) == 2
    assert "no model 'nope'" in capsys.readouterr().err
