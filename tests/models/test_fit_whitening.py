"""fit-whitening end to end on the tiny model: CLI -> new folder -> served whitened vectors."""

from __future__ import annotations

import numpy as np
import pytest

from app.engines.manifest import read_manifest
from app.engines.whitening import apply_whitening, load_whitening
from models.__main__ import main
from models.corpus import read_sentences
from models.encoding import encode_all, load_encoder
from tests.conftest import copy_models_dir
from tests.tiny_models import WORDS


def random_sentences(n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(WORDS, size=rng.integers(3, 12))) for _ in range(n)]


@pytest.fixture()
def models_dir(tiny_models_dir, tmp_path):
    return copy_models_dir(tiny_models_dir, tmp_path / "models")


def test_fit_whitening_cli_end_to_end(models_dir, tmp_path, capsys):
    corpus = tmp_path / "corpus.txt"
    sentences = random_sentences(300)
    corpus.write_text("\n".join(sentences) + "\n\n", encoding="utf-8")
    argv = ["fit-whitening", "--model", "tiny", "--data", str(corpus), "--k", "8"]
    argv += ["--name", "tiny-w8", "--models-dir", str(models_dir)]
    assert main(argv) == 0
    assert "k=8" in capsys.readouterr().out

    folder = models_dir / "tiny-w8"
    manifest = read_manifest(folder)
    assert manifest.dimension == 8 and manifest.hidden_size == 32
    assert manifest.whitening.k == 8 and manifest.whitening.n_sentences == 300
    assert manifest.whitening.fit_corpus == "corpus.txt"
    assert manifest.source["base_model"] == "tiny"
    assert set(manifest.files) == {"encoder.onnx", "tokenizer.json", "whitening.npz"}
    base = read_manifest(models_dir / "tiny")
    assert manifest.files["encoder.onnx"] == base.files["encoder.onnx"]

    # served through Encoder, the whitened folder gives (pooled - mu) @ W_k ...
    plain = encode_all(load_encoder(models_dir, "tiny"), sentences)
    whitened = encode_all(load_encoder(models_dir, "tiny-w8"), sentences)
    transform = load_whitening(folder / "whitening.npz")
    np.testing.assert_allclose(whitened, apply_whitening(plain, transform), atol=1e-5, rtol=0)
    # ... and on the fitting corpus those vectors are white: zero mean, identity covariance
    np.testing.assert_allclose(whitened.mean(0), np.zeros(8), atol=1e-3)
    np.testing.assert_allclose(np.cov(whitened.T, bias=True), np.eye(8), atol=2e-3)


def test_rotation_keeps_cosines(models_dir, tmp_path):
    corpus = tmp_path / "pairs.tsv"
    left, right = random_sentences(100, seed=1), random_sentences(100, seed=2)
    rows = ["sentence1\tsentence2\tscore"] + [
        f"{a}\t{b}\t1" for a, b in zip(left, right, strict=True)
    ]
    corpus.write_text("\n".join(rows) + "\n", encoding="utf-8")
    argv = ["fit-whitening", "--model", "tiny", "--data", str(corpus), "--beta", "0"]
    argv += ["--gamma", "0", "--name", "tiny-rot", "--models-dir", str(models_dir)]
    assert main(argv) == 0
    manifest = read_manifest(models_dir / "tiny-rot")
    assert manifest.whitening.n_sentences == 200 and manifest.dimension == 32

    def unit(x):
        return x / np.linalg.norm(x, axis=1, keepdims=True)

    plain = unit(encode_all(load_encoder(models_dir, "tiny"), left))
    rotated = unit(encode_all(load_encoder(models_dir, "tiny-rot"), left))
    np.testing.assert_allclose(rotated @ rotated.T, plain @ plain.T, atol=1e-5)


def test_bad_arguments_exit_2(models_dir, tmp_path, capsys):
    corpus = tmp_path / "c.txt"
    corpus.write_text("hello world\nthe dog\n", encoding="utf-8")
    common = ["--data", str(corpus), "--models-dir", str(models_dir)]
    assert main(["fit-whitening", "--model", "tiny", "--k", "33", "--name", "x"] + common) == 2
    assert "k must be -1 (all) or in 1..32" in capsys.readouterr().err
    assert main(["fit-whitening", "--model", "nope", "--name", "x"] + common) == 2
    assert "no model 'nope'" in capsys.readouterr().err
    assert main(["fit-whitening", "--model", "tiny", "--name", "tiny-cls"] + common) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["fit-whitening", "--model", "tiny", "--name", "tw"] + common) == 0
    assert main(["fit-whitening", "--model", "tw", "--name", "tww"] + common) == 2
    assert "already whitened" in capsys.readouterr().err
    assert not (models_dir / "x").exists()
    assert sorted(p.name for p in models_dir.iterdir() if p.name.startswith(".")) == []


def test_read_sentences(tmp_path):
    tsv = tmp_path / "p.tsv"
    tsv.write_text("sentence1\tsentence2\tscore\na b\tc\t1\nd\te\t0\n", encoding="utf-8")
    assert read_sentences(tsv) == ["a b", "c", "d", "e"]
    txt = tmp_path / "s.txt"
    txt.write_text("one\n\n  \ntwo\none\n", encoding="utf-8")
    assert read_sentences(txt) == ["one", "two", "one"]
