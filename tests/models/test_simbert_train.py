"""train-simbert on a tiny random BERT: batch layout, the similarity loss, learning, export."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from app.engines.manifest import ModelKind, read_manifest  # noqa: E402
from models.simbert.load import assemble, load_unilm  # noqa: E402
from models.simbert.unilm import Architecture  # noqa: E402
from models.train_simbert import encode_batch, main, simbert_loss  # noqa: E402
from tests.app.generation.tiny_simbert import tiny_tokenizer  # noqa: E402

PAIRS = [
    ("how is the weather today", "what is the weather today"),
    ("the cat is big", "the cat is not small"),
    ("i read a book", "i read the book"),
    ("where is my car", "where is your car"),
]


def _tiny_model(seed=0):
    cfg = transformers.BertConfig(
        vocab_size=tiny_tokenizer().get_vocab_size(),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    torch.manual_seed(seed)
    return assemble(Architecture.BERT, transformers.BertModel(cfg, add_pooling_layer=False), {})


def test_batch_holds_both_orders_with_segments():
    tok = tiny_tokenizer()
    batch = encode_batch(tok, PAIRS[:2], maxlen=16)
    a, b = tok.encode(PAIRS[0][0]).ids, tok.encode(PAIRS[0][1]).ids
    row0 = batch["ids"][0, : len(a) + len(b) - 1].tolist()
    row1 = batch["ids"][1, : len(a) + len(b) - 1].tolist()
    assert row0 == a + b[1:] and row1 == b + a[1:]
    assert (
        batch["seg"][0, : len(a)].sum() == 0 and batch["seg"][0, len(a) : len(a) + len(b) - 1].all()
    )
    assert batch["ids"].shape[0] == 4
    assert batch["mask"][:2].sum(1).tolist() == [len(a) + len(b) - 1] * 2


def test_similarity_loss_matches_the_formula():
    model = _tiny_model().eval()
    batch = encode_batch(tiny_tokenizer(), PAIRS, maxlen=16)
    with torch.no_grad():
        _, sim = simbert_loss(model, batch, scale=30.0)
        hidden, _ = model.hidden(batch["ids"], batch["seg"], batch["mask"])
        v = model.pooler(hidden[:, 0]).numpy()
    v = v / np.linalg.norm(v, axis=1, keepdims=True)
    logits = 30 * (v @ v.T)
    np.fill_diagonal(logits, -np.inf)
    logp = (
        logits
        - np.log(np.exp(logits - logits.max(1, keepdims=True)).sum(1, keepdims=True))
        - logits.max(1, keepdims=True)
    )
    expected = -np.mean([logp[i, i ^ 1] for i in range(len(v))])
    np.testing.assert_allclose(sim.item(), expected, rtol=1e-4)


def test_cls_vector_ignores_the_target_segment():
    model = _tiny_model().eval()
    batch = encode_batch(tiny_tokenizer(), PAIRS[:1], maxlen=16)
    alone = tiny_tokenizer().encode(PAIRS[0][0]).ids
    with torch.no_grad():
        h_pair, _ = model.hidden(batch["ids"][:1], batch["seg"][:1], batch["mask"][:1])
        ids = torch.tensor([alone])
        h_alone, _ = model.hidden(ids, torch.zeros_like(ids), torch.ones_like(ids))
    torch.testing.assert_close(h_pair[0, 0], h_alone[0, 0], atol=1e-5, rtol=0)


def test_training_lowers_both_losses():
    model = _tiny_model()
    batch = encode_batch(tiny_tokenizer(), PAIRS, maxlen=16)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.eval()
    with torch.no_grad():
        before = [x.item() for x in simbert_loss(model, batch, 30.0)]
    model.train()
    for _ in range(30):
        seq2seq, sim = simbert_loss(model, batch, 30.0)
        optimizer.zero_grad()
        (seq2seq + sim).backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        after = [x.item() for x in simbert_loss(model, batch, 30.0)]
    assert after[0] < 0.5 * before[0]
    assert after[1] < before[1]


def test_cli_trains_and_writes_a_served_simbert_folder(tmp_path):
    out = tmp_path / "out" / "tiny-trained"
    main(_cli_args(tmp_path, out, "--steps", "3", "--trim-vocab"))
    src = tmp_path / "src"  # a plain BertModel: no MLM head -> tied head is created
    manifest = read_manifest(out)
    assert manifest.kind is ModelKind.SIMBERT and manifest.pooling.value == "pooler"
    assert manifest.source["steps"] == 3 and manifest.source["n_pairs"] == 4
    assert manifest.generator["graph"] == manifest.onnx.file
    assert manifest.source["graph_check"]["max_abs_logits"] < 1e-3
    assert load_unilm(src).config.vocab_size > manifest.source["vocab_size"]  # trimmed
    # the word rule's list: the words of the pairs that passed the filter, not the others
    words = (out / manifest.generator["words"]).read_text().split()
    assert set(words) == {w for pair in PAIRS for text in pair for w in text.lower().split()}


def _cli_args(tmp_path, out, *extra):
    src = tmp_path / "src"
    if not src.exists():
        _tiny_model().base.save_pretrained(src)
        tiny_tokenizer().save(str(src / "tokenizer.json"))
    tsv = tmp_path / "pairs.tsv"
    tsv.write_text(
        "sentence1\tsentence2\tscore\n"
        + "".join(f"{a}\t{b}\t5\n" for a, b in PAIRS)
        + "the cat is big\tthe car is red\t1\n"
    )
    return [
        "--source", str(src), "--pairs", f"{tsv}:4", "--out", str(out), "--batch-pairs", "2",
        "--seed", "1", "--threads", "1", *extra,
    ]  # fmt: skip


def test_denoising_rows_are_trained_and_recorded(tmp_path):
    out = tmp_path / "denoised"
    tsv = tmp_path / "pairs.tsv"
    main(
        _cli_args(tmp_path, out, "--steps", "2", "--denoise", str(tsv), "--denoise-per-batch", "3")
    )
    record = read_manifest(out).source["denoise"]
    # every distinct sentence of the TSV, the score-1 row's included
    assert record["n_sentences"] == 9 and record["rows_per_step"] == 3
    assert read_manifest(out).source["steps"] == 2


def test_a_resumed_run_ends_where_an_uninterrupted_one_does(tmp_path):
    denoise = ["--denoise", str(tmp_path / "pairs.tsv"), "--denoise-per-batch", "2"]
    straight = tmp_path / "straight"
    main(
        _cli_args(tmp_path, tmp_path / "a", "--steps", "4", "--work-dir", str(straight),
                  "--save-every", "2", "--warmup-steps", "3", *denoise)
    )  # fmt: skip
    resumed = tmp_path / "resumed"
    for steps in ("2", "4"):  # stop after 2 steps, then a second run continues to 4
        main(
            _cli_args(tmp_path, tmp_path / "b", "--steps", steps, "--work-dir", str(resumed),
                      "--save-every", "2", "--warmup-steps", "3", *denoise)
        )  # fmt: skip
    a = torch.load(straight / "state.pt", weights_only=False)
    b = torch.load(resumed / "state.pt", weights_only=False)
    assert a["step"] == b["step"] == 4
    for name, tensor in a["model"].items():
        torch.testing.assert_close(b["model"][name], tensor, rtol=0, atol=1e-6)
    assert a["schedule"]["last_epoch"] == b["schedule"]["last_epoch"] == 4
