"""train-cosent on a tiny random-weight sentence-transformers model and synthetic pairs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.tiny_models import WORDS as TINY_WORDS
from tests.tiny_models import build_tiny_st_model as build_tiny_model

torch = pytest.importorskip("torch")
pytest.importorskip("sentence_transformers")

WORDS = [w for w in TINY_WORDS if w.isalpha()]


def write_pairs(path: Path, n: int, seed: int) -> Path:
    """Pairs whose 0-5 score is the share of words kept when rewriting a random sentence."""
    rng = np.random.default_rng(seed)
    lines = ["sentence1\tsentence2\tscore"]
    for _ in range(n):
        length = int(rng.integers(4, 9))
        first = list(rng.choice(WORDS, size=length))
        changed = int(rng.integers(0, length + 1))
        second = list(first)
        for pos in rng.choice(length, size=changed, replace=False):
            second[pos] = str(rng.choice(WORDS))
        score = 5.0 * (length - changed) / length
        lines.append(f"{' '.join(first)}\t{' '.join(second)}\t{score:.3f}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """(model folder, train TSV, dev TSV) shared by the tests of this module."""
    root = tmp_path_factory.mktemp("tiny-cosent")
    return (
        build_tiny_model(root / "model"),
        write_pairs(root / "train.tsv", 96, seed=1),
        write_pairs(root / "dev.tsv", 48, seed=2),
    )


def make_config(tiny, out_dir: Path, **overrides):
    from models.training.config import TrainConfig

    source, train, dev = tiny
    values = dict(
        source=str(source),
        train=str(train),
        dev=str(dev),
        name="tiny-cosent",
        out_dir=str(out_dir),
        models_dir=str(out_dir.parent / "models"),
        epochs=3,
        batch_size=16,
        lr=3e-3,
        export=False,
        progress=False,
    )
    values.update(overrides)
    return TrainConfig(**values)


def full_cosent_loss(folder: Path, pairs_path: Path) -> float:
    """CoSENT loss of the model in `folder` over the whole TSV as one batch, eval mode."""
    from models.losses import cosent_loss
    from models.training.encoder import embed, load_sentence_model
    from models.training.pairs import interleave, read_pairs

    model = load_sentence_model(folder).eval()
    pairs = read_pairs(pairs_path)
    with torch.no_grad():
        texts, scores = interleave(pairs, np.arange(len(pairs)))
        return float(cosent_loss(embed(model, texts), torch.as_tensor(scores)))


def weights(folder: Path) -> dict:
    from models.training.encoder import load_sentence_model

    return {k: v.clone() for k, v in load_sentence_model(folder).state_dict().items()}


def test_training_lowers_loss_and_keeps_the_best_dev_epoch(tiny, tmp_path):
    from models.train_cosent import train
    from models.training.encoder import load_sentence_model
    from models.training.loop import dev_spearman
    from models.training.pairs import read_pairs

    source, train_tsv, dev_tsv = tiny
    result = train(make_config(tiny, tmp_path / "run"))
    state = result.state
    assert [r.epoch for r in state.history] == [1, 2, 3]
    assert all(r.steps == 6 for r in state.history)  # 96 pairs / 16
    before, after = (
        full_cosent_loss(source, train_tsv),
        full_cosent_loss(result.best_dir, train_tsv),
    )
    assert after < before - 0.2, (before, after)

    best = state.best
    assert best.dev_spearman == max(r.dev_spearman for r in state.history)
    saved = json.loads((result.best_dir / "epoch.json").read_text())
    assert saved["epoch"] == best.epoch
    # The kept checkpoint really is that epoch: re-evaluating it gives its recorded score.
    rescored = dev_spearman(load_sentence_model(result.best_dir), read_pairs(dev_tsv), 64)
    assert rescored == pytest.approx(best.dev_spearman, abs=1e-4)
    run_json = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run_json["best_epoch"] == best.epoch and run_json["epochs_done"] == 3
    assert run_json["initial_dev_spearman"] == pytest.approx(state.initial_dev_spearman)


def test_resume_continues_exactly_where_it_stopped(tiny, tmp_path):
    from models.train_cosent import train

    straight = train(make_config(tiny, tmp_path / "straight", epochs=2, objective="softmax"))
    train(make_config(tiny, tmp_path / "resumed", epochs=1, objective="softmax"))
    resumed = train(make_config(tiny, tmp_path / "resumed", epochs=2, objective="softmax"))
    assert [(r.epoch, r.train_loss, r.dev_spearman) for r in resumed.state.history] == [
        (r.epoch, r.train_loss, r.dev_spearman) for r in straight.state.history
    ]
    a, b = weights(tmp_path / "straight" / "last"), weights(tmp_path / "resumed" / "last")
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0, msg=key)
    # A finished run re-run with the same settings trains nothing more.
    stamp = (tmp_path / "resumed" / "last" / "trainer.pt").stat().st_mtime_ns
    again = train(make_config(tiny, tmp_path / "resumed", epochs=2, objective="softmax"))
    assert again.state.history == resumed.state.history
    assert (tmp_path / "resumed" / "last" / "trainer.pt").stat().st_mtime_ns == stamp


def test_resume_refuses_a_run_dir_with_other_settings(tiny, tmp_path):
    from app.errors import Conflict
    from models.train_cosent import train

    train(make_config(tiny, tmp_path / "run", epochs=1))
    with pytest.raises(Conflict, match="lr"):
        train(make_config(tiny, tmp_path / "run", epochs=2, lr=1e-4))


def test_label_step_trains_on_rounded_scores_only(tiny, tmp_path):
    """--label-step 1 is the same run as training on a TSV whose scores were rounded by hand
    (dev untouched), and it is part of the run's identity."""
    from app.errors import Conflict
    from models.train_cosent import train
    from models.training.pairs import read_pairs

    source, train_tsv, dev_tsv = tiny
    raw = read_pairs(train_tsv)
    assert np.any(raw.scores != np.round(raw.scores))  # the fixture has fractional scores
    rounded_tsv = tmp_path / "rounded.tsv"
    rows = [
        f"{a}\t{b}\t{round(s):.0f}"
        for a, b, s in zip(raw.first, raw.second, raw.scores, strict=True)
    ]
    rounded_tsv.write_text("sentence1\tsentence2\tscore\n" + "\n".join(rows) + "\n")
    stepped = train(make_config(tiny, tmp_path / "stepped", epochs=1, label_step=1.0)).state
    by_hand = train(
        make_config((source, rounded_tsv, dev_tsv), tmp_path / "by-hand", epochs=1)
    ).state
    plain = train(make_config(tiny, tmp_path / "plain", epochs=1)).state
    assert stepped.history[0].train_loss == pytest.approx(by_hand.history[0].train_loss)
    assert stepped.history[0].dev_spearman == pytest.approx(by_hand.history[0].dev_spearman)
    assert stepped.history[0].train_loss != pytest.approx(plain.history[0].train_loss)
    with pytest.raises(Conflict, match="label_step"):
        train(make_config(tiny, tmp_path / "stepped", epochs=2))
    with pytest.raises(ValueError, match="label_step"):
        make_config(tiny, tmp_path / "x", label_step=0.0)


def test_cosine_mse_objective_trains(tiny, tmp_path):
    from models.train_cosent import train

    state = train(make_config(tiny, tmp_path / "run", epochs=1, objective="cosine_mse")).state
    assert state.epochs_done == 1 and np.isfinite(state.history[0].train_loss)
    assert -100 <= state.history[0].dev_spearman <= 100


def test_cli_trains_and_reports_bad_input(tiny, tmp_path, capsys):
    from models.__main__ import main

    source, train_tsv, dev_tsv = tiny
    common = ["train-cosent", "--source", str(source), "--dev", str(dev_tsv), "--name", "t"]
    common += ["--epochs", "1", "--batch-size", "32", "--no-export", "--no-progress"]
    assert main([*common, "--train", str(train_tsv), "--out-dir", str(tmp_path / "ok")]) == 0
    assert "best epoch 1: dev Spearman" in capsys.readouterr().out
    bad = tmp_path / "bad.tsv"
    bad.write_text("sentence1\tsentence2\tscore\na\tb\t1\nc\td\tnot-a-number\n", encoding="utf-8")
    assert main([*common, "--train", str(bad), "--out-dir", str(tmp_path / "bad")]) == 2
    assert "bad.tsv:3: score 'not-a-number' is not a number" in capsys.readouterr().err


def test_best_epoch_is_exported_and_served_with_the_torch_vectors(tiny, tmp_path):
    from app.engines.encoder import Encoder, EncodeRequest
    from app.engines.manifest import PoolingMode
    from app.errors import InvalidInput
    from app.settings import BatcherSettings, ModelSettings
    from models.train_cosent import train
    from models.training.encoder import encode, load_sentence_model

    config = make_config(tiny, tmp_path / "run", epochs=2, export=True)
    result = train(config)
    assert result.exported == tmp_path / "models" / "tiny-cosent"
    encoder = Encoder.load(result.exported, ModelSettings(device="cpu"), BatcherSettings())
    best = load_sentence_model(result.best_dir)
    assert encoder.manifest.pooling is PoolingMode.MEAN
    assert encoder.manifest.max_length == best.max_seq_length  # the source's, not --max-length
    texts = ["a man is playing a guitar", "the quick brown fox", "hello world", "a cat"]
    served = np.stack(
        [r.vector for r in encoder.run([EncodeRequest(t) for t in encoder.tokenize(texts)])]
    )
    torch_vectors = encode(best, texts)
    np.testing.assert_allclose(served, torch_vectors, atol=1e-4, rtol=0)
    # The served model is the fine-tuned one, not the source.
    source_vectors = encode(load_sentence_model(tiny[0]), texts)
    assert np.abs(served - source_vectors).max() > 1e-2
    # Re-running a finished run does not silently replace the served folder.
    with pytest.raises(InvalidInput, match="--overwrite"):
        train(config)
    again = train(make_config(tiny, tmp_path / "run", epochs=2, export=True, overwrite=True))
    assert again.state.history == result.state.history
