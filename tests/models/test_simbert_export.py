"""The exported UniLM graph gives the torch (HF) next-token logits under the UniLM mask.

Random weights, architecture from the public configs (SimBERT: BERT-base layout with the
13,685-token vocab; RoFormer-Sim char base: RoFormer, vocab 12,000), shrunk in depth and
width for speed. Reference: the HF model run on the whole sequence with a 4D UniLM mask.
"""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from app.engines.encoder import empty_cache_inputs  # noqa: E402
from models.simbert.export import cache_names, export_graph  # noqa: E402
from models.simbert.load import load_unilm  # noqa: E402

ATOL = 2e-4  # fp32, random weights; observed ~1e-6
FED = ("input_ids", "token_type_ids", "attention_mask")


def _empty(session, batch: int) -> dict:
    """Empty caches for every unfed input, by the rule the serving encoder applies."""
    specs = empty_cache_inputs(session, FED, "test")
    return {name: np.zeros((batch, *shape), np.float32) for name, shape in specs}


def _bert(tmp_path):
    cfg = transformers.BertConfig(
        vocab_size=13685,
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=128,
        attn_implementation="eager",
    )
    torch.manual_seed(0)
    model = transformers.BertForPreTraining(cfg).eval()
    model.save_pretrained(tmp_path / "src")
    return model, lambda out: out.prediction_logits


def _roformer(tmp_path):
    cfg = transformers.RoFormerConfig(
        vocab_size=12000,
        embedding_size=64,
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=128,
        max_position_embeddings=512,
        attn_implementation="eager",
    )
    torch.manual_seed(0)
    model = transformers.RoFormerForMaskedLM(cfg).eval()
    model.save_pretrained(tmp_path / "src")
    return model, lambda out: out.logits


def _reference_logits(hf, pick, ids, seg):
    cum = seg.cumsum(1)
    mask = torch.where(cum[:, None, :] <= cum[:, :, None], 0.0, torch.finfo(torch.float32).min)
    with torch.no_grad():
        return pick(hf(input_ids=ids, token_type_ids=seg, attention_mask=mask[:, None])).numpy()


@pytest.fixture(params=["bert", "roformer"])
def exported(request, tmp_path):
    hf, pick = (_bert if request.param == "bert" else _roformer)(tmp_path)
    model = load_unilm(tmp_path / "src")
    path = export_graph(model, tmp_path / "g.onnx")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return hf, pick, model, session


def test_logits_match_torch_with_and_without_cache(exported):
    hf, pick, _, session = exported
    rng = np.random.default_rng(0)
    src = np.array([[2] + list(rng.integers(5, 1000, 5)) + [3]])  # [CLS] ... [SEP] stand-ins
    targets = rng.integers(5, 1000, (2, 4))  # two rows decoded from one shared prefix
    full = np.concatenate([np.repeat(src, 2, 0), targets], axis=1)
    seg = np.concatenate([np.zeros((2, src.shape[1]), int), np.ones((2, 4), int)], axis=1)
    ref = _reference_logits(hf, pick, torch.tensor(full), torch.tensor(seg))
    n_src = src.shape[1]

    assert [i.name for i in session.get_inputs()] == [*FED, *cache_names("past", 2)]
    out = session.run(
        None,
        {
            "input_ids": src,
            "token_type_ids": 0 * src,
            "attention_mask": 1 + 0 * src,
            **_empty(session, 1),
        },
    )
    np.testing.assert_allclose(out[2][0], ref[0, n_src - 1], atol=ATOL)
    assert len(out) == 3 + 4  # per layer: present key, present value
    past = [np.repeat(p, 2, axis=0) for p in out[3:]]
    for step in range(4):
        tok = full[:, n_src + step : n_src + step + 1]
        mask = np.ones((2, n_src + step + 1), np.int64)
        feeds = {"input_ids": tok, "token_type_ids": np.ones_like(tok), "attention_mask": mask}
        out = session.run(None, {**feeds, **dict(zip(cache_names("past", 2), past, strict=True))})
        logits, past = out[2], out[3:]
        np.testing.assert_allclose(logits, ref[:, n_src + step], atol=ATOL)
        # full re-run without the cache: same logits
        prefix = full[:, : n_src + step + 1]
        rerun = session.run(
            ["logits"],
            {
                "input_ids": prefix,
                "token_type_ids": seg[:, : n_src + step + 1],
                "attention_mask": mask,
                **_empty(session, 2),
            },
        )[0]
        np.testing.assert_allclose(rerun, ref[:, n_src + step], atol=ATOL)
    assert all(p.shape[2] == n_src + 4 for p in past)


def test_encoder_outputs_match_torch_with_padding(exported):
    hf, _, model, session = exported
    ids = np.array([[2, 10, 11, 12, 3], [2, 20, 3, 0, 0]])
    mask = (ids > 0).astype(np.int64) | (np.arange(5) < 3)
    feeds = {"input_ids": ids, "token_type_ids": np.zeros_like(ids), "attention_mask": mask}
    hidden, pooled = session.run(
        ["last_hidden_state", "pooler_dense"], {**feeds, **_empty(session, 2)}
    )
    base = hf.bert if hasattr(hf, "bert") else hf.roformer
    with torch.no_grad():
        ref = base(
            input_ids=torch.tensor(ids), attention_mask=torch.tensor(mask)
        ).last_hidden_state.numpy()
        ref_pooled = model.pooler(torch.tensor(ref[:, 0])).numpy()
    keep = mask.astype(bool)
    np.testing.assert_allclose(hidden[keep], ref[keep], atol=ATOL)
    np.testing.assert_allclose(pooled, ref_pooled, atol=ATOL)
    if hasattr(hf, "bert"):  # the pooler is the checkpoint's Dense, without tanh
        np.testing.assert_allclose(
            pooled, hf.bert.pooler.dense(torch.tensor(ref[:, 0])).detach().numpy(), atol=ATOL
        )


def test_export_cli_writes_a_served_folder_from_a_vocab_txt_checkpoint(tmp_path):
    from app.engines.manifest import ModelKind, read_manifest
    from app.generation.spec import GeneratorSpec
    from models.export_simbert import main

    _roformer(tmp_path)  # writes tmp_path/src (RoFormer, no tokenizer files)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [f"t{i}" for i in range(11995)]
    (tmp_path / "src" / "vocab.txt").write_text("\n".join(vocab) + "\n")
    main(["--source", str(tmp_path / "src"), "--out", str(tmp_path / "out" / "rsim")])
    manifest = read_manifest(tmp_path / "out" / "rsim")
    spec = GeneratorSpec.from_manifest(manifest.generator)
    assert manifest.kind is ModelKind.SIMBERT and manifest.architecture == "roformer"
    assert spec.sampling.top_p == 0.95 and spec.sampling.top_k is None
    assert spec.max_source_length == 64 and spec.layers == 2
