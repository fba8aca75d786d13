"""eval-sts on tiny synthetic TSVs; --reference-st against a tiny sentence-transformers model."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import BertModel

from app.engines.manifest import read_manifest
from models.__main__ import main
from models.corpus import read_pairs
from models.eval_sts import evaluate, sts_spearman, unique_sentences
from models.export import export_model
from tests.tiny_models import WORDS


def random_pairs(n: int, seed: int) -> list[tuple[str, str]]:
    rng = np.random.default_rng(seed)
    sent = lambda: " ".join(rng.choice(WORDS, size=rng.integers(2, 9)))  # noqa: E731
    return [(sent(), sent()) for _ in range(n)]


def torch_cosines(source, tokenizer_encode, pairs) -> np.ndarray:
    """Gold scores from an independent path: transformers BertModel, mean pooling, cosine."""
    model = BertModel.from_pretrained(str(source)).eval()

    def vec(text):
        ids = torch.tensor([tokenizer_encode(text)])
        with torch.inference_mode():
            return model(input_ids=ids).last_hidden_state[0].mean(0).numpy()

    out = []
    for a, b in pairs:
        va, vb = vec(a), vec(b)
        out.append(float(va @ vb / np.linalg.norm(va) / np.linalg.norm(vb)))
    return np.array(out)


def write_tsv(path, pairs, scores):
    lines = ["sentence1\tsentence2\tscore"]
    lines += [f"{a}\t{b}\t{s:.6f}" for (a, b), s in zip(pairs, scores, strict=True)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_eval_sts_reaches_100_on_scores_from_the_same_model(
    tiny_models_dir, tiny_source_dir, tmp_path, capsys
):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tiny_models_dir / "tiny" / "tokenizer.json"))
    pairs = random_pairs(60, seed=3)
    gold = torch_cosines(tiny_source_dir, lambda t: tok.encode(t).ids, pairs)
    write_tsv(tmp_path / "up.tsv", pairs, gold)
    write_tsv(tmp_path / "down.tsv", pairs, -gold)
    argv = ["eval-sts", "--model", "tiny", "--models-dir", str(tiny_models_dir), "--data"]
    assert main(argv + [str(tmp_path / "up.tsv")]) == 0
    assert "Spearman x100 = 100.00 (60 pairs)" in capsys.readouterr().out
    result, ref = evaluate(tiny_models_dir, "tiny", tmp_path / "down.tsv")
    assert ref is None and result.spearman == pytest.approx(-100.0, abs=1e-6)
    # another pooling of the same weights ranks the pairs differently
    other, _ = evaluate(tiny_models_dir, "tiny-cls", tmp_path / "up.tsv")
    assert other.spearman < 99.0


def test_sts_spearman_and_unique_sentences(tmp_path):
    write_tsv(tmp_path / "p.tsv", [("a", "b"), ("b", "c"), ("a", "c")], [0.0, 2.0, 1.0])
    pairs = read_pairs(tmp_path / "p.tsv")
    sentences, left, right = unique_sentences(pairs)
    assert sentences == ["a", "b", "c"]
    assert left.tolist() == [0, 1, 0] and right.tolist() == [1, 2, 2]
    # cos(a,b) = 0 < cos(b,c) = 0.196 < cos(a,c) = 0.98: ranks 1 2 3 vs scores' 1 3 2
    vectors = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.2]])
    assert sts_spearman(vectors, left, right, pairs.scores) == pytest.approx(50.0)
    with pytest.raises(ValueError, match="vectors"):
        sts_spearman(vectors[0], left, right, pairs.scores)


def test_bad_tsv_exit_2(tiny_models_dir, tmp_path, capsys):
    (tmp_path / "bad.tsv").write_text("a\tb\n1\t2\n", encoding="utf-8")
    argv = ["eval-sts", "--model", "tiny", "--models-dir", str(tiny_models_dir)]
    assert main(argv + ["--data", str(tmp_path / "bad.tsv")]) == 2
    assert "bad.tsv: first line must be the header" in capsys.readouterr().err


@pytest.fixture(scope="module")
def tiny_st_dir(tiny_source_dir, tmp_path_factory):
    from sentence_transformers import SentenceTransformer, models

    transformer = models.Transformer(str(tiny_source_dir), max_seq_length=64)
    pooling = models.Pooling(32, pooling_mode="mean")
    st = SentenceTransformer(modules=[transformer, pooling, models.Normalize()], device="cpu")
    out = tmp_path_factory.mktemp("st") / "tiny-st"
    st.save(str(out))
    return out


def test_sentence_transformers_source_and_reference(tiny_st_dir, tmp_path, capsys):
    manifest = export_model(tiny_st_dir, tmp_path, "st")  # pooling etc. from the ST modules
    assert manifest.pooling.value == "mean" and manifest.normalize is True
    assert manifest.max_length == 64 and manifest.source["type"] == "sentence-transformers"
    pairs = random_pairs(40, seed=5)
    write_tsv(tmp_path / "p.tsv", pairs, np.random.default_rng(0).random(40))
    argv = ["eval-sts", "--model", "st", "--models-dir", str(tmp_path)]
    argv += ["--data", str(tmp_path / "p.tsv"), "--reference-st"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "parity OK" in out
    _, ref = evaluate(tmp_path, "st", tmp_path / "p.tsv", reference_st=True)
    assert ref.max_abs_diff <= 1e-5 and abs(ref.spearman_diff) <= 1e-6
    # a folder that pools differently from its source fails the check (exit 1)
    export_model(tiny_st_dir, tmp_path, "st-cls", pooling="cls")
    assert read_manifest(tmp_path / "st-cls").pooling.value == "cls"
    argv[2] = "st-cls"
    assert main(argv) == 1
    assert "parity FAILED" in capsys.readouterr().out
