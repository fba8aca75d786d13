"""The bilingual recipe on the tiny model: a stopped and resumed run equals an unbroken one."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

from tests.tiny_models import build_tiny_st_model

torch = pytest.importorskip("torch")
pytest.importorskip("sentence_transformers")

from models.bilingual.folder import extend_folder  # noqa: E402
from models.bilingual.train import BilingualConfig, lr_factor, run  # noqa: E402

ZH = ["龙凤怎么办", "密码忘了", "凤凰卫视", "手机银行", "登录密码", "额度提高"]
EN = ["a man is playing a guitar", "the cat plays", "how do i reset my password", "good weather"]


def write_task(root: Path, name: str, files: tuple[str, ...], words: list[str], seed: int) -> None:
    rng = np.random.default_rng(seed)
    folder = root / name
    folder.mkdir(parents=True)
    for file in files:
        lines = ["sentence1\tsentence2\tscore"]
        for i in range(40):
            a, b = rng.choice(words, size=2, replace=False)
            lines.append(f"{a} {i}\t{b} {i}\t{int(rng.integers(0, 6))}")
        (folder / file).write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("bilingual")
    data = root / "data"
    write_task(data, "stsb-zh", ("train.tsv", "dev.tsv"), ZH, 1)
    write_task(data, "lcqmc", ("dev.tsv",), ZH, 2)
    write_task(data, "stsb-en", ("train.tsv", "dev.tsv"), EN, 3)
    source = build_tiny_st_model(root / "model")
    extended = root / "extended"
    extend_folder(source, extended, ZH)
    return data, extended


def config(setup, out: Path, **overrides) -> BilingualConfig:
    data, extended = setup
    values = dict(
        data=str(data),
        source=str(extended),
        out_dir=str(out),
        tasks=("stsb-zh", "lcqmc", "stsb-en"),
        batch_size=8,
        checkpoint_every=2,
        anchor_size=4,
        max_length=16,
    )
    return BilingualConfig(**{**values, **overrides})


def weights(folder: Path) -> dict[str, np.ndarray]:
    return load_file(str(folder / "model.safetensors"))


def test_resumed_run_equals_an_unbroken_run(setup, tmp_path):
    torch.set_num_threads(1)
    straight, _, total = run(config(setup, tmp_path / "a", max_steps=6), progress_bar=False)
    assert total > 6 and straight.name == "last"
    run(config(setup, tmp_path / "b", max_steps=4), progress_bar=False)
    resumed, progress, _ = run(config(setup, tmp_path / "b", max_steps=6), progress_bar=False)
    assert progress.step == 6 and len(progress.losses) == 3
    a, b = weights(straight), weights(resumed)
    for key in a:
        np.testing.assert_allclose(a[key], b[key], atol=1e-6, err_msg=key)
    untouched = weights(setup[1])
    assert any(not np.allclose(a[k], untouched[k]) for k in a if k in untouched)


def test_resume_with_other_settings_is_refused(setup, tmp_path):
    run(config(setup, tmp_path / "c", max_steps=2), progress_bar=False)
    with pytest.raises(ValueError, match="lr"):
        run(config(setup, tmp_path / "c", max_steps=4, lr=1e-3), progress_bar=False)


def test_lr_warms_up_then_decays_to_zero():
    factors = [lr_factor(s, 100, 0.1) for s in range(100)]
    assert factors[0] == pytest.approx(0.1) and factors[9] == pytest.approx(1.0)
    assert all(x >= y for x, y in zip(factors[10:], factors[11:], strict=False))
    assert factors[-1] == pytest.approx(1 / 90)


def test_cli_runs_the_recipe_end_to_end_and_publishes(setup, tmp_path):
    """`python -m models train-bilingual` on the tiny model: extend, train, export fp32 + int8;
    a second call resumes (nothing left to train) and refuses to overwrite without asking."""
    from app.engines.manifest import read_manifest
    from models.__main__ import main
    from tests.tiny_models import build_tiny_st_model

    data, _ = setup
    source = build_tiny_st_model(tmp_path / "src")
    args = [
        "train-bilingual", "--data", str(data), "--out-dir", str(tmp_path / "run"),
        "--source", str(source), "--tasks", "stsb-zh", "lcqmc", "stsb-en",
        "--batch-size", "16", "--max-length", "16", "--checkpoint-every", "2",
        "--name", "tiny-zh", "--models-dir", str(tmp_path / "models"), "--int8", "--no-progress",
    ]  # fmt: skip
    assert main(args) == 0
    fp32 = read_manifest(tmp_path / "models" / "tiny-zh-fp32", verify=True)
    int8 = read_manifest(tmp_path / "models" / "tiny-zh", verify=True)
    assert int8.onnx.quantization == "int8-dynamic" and fp32.onnx.quantization is None
    assert fp32.source["extend_vocab"]["added"] > 0
    progress = json.loads((tmp_path / "run" / "train-cosent" / "progress.json").read_text())
    assert fp32.source["training_steps"] == progress["step"] == progress["total"] > 0
    assert "NFKC" in fp32.source["tokenizer_check"]
    assert main(args) == 2  # the folders exist: replacing them needs --overwrite
    assert main([*args, "--overwrite"]) == 0
