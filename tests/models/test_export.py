"""Export of tiny random-weight BERTs: every pooling mode against an independent torch reference."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import BertModel

from app.engines.encoder import Encoder, EncodeRequest
from app.engines.manifest import OutputRole, PoolingMode, read_manifest
from app.errors import InvalidInput
from app.settings import BatcherSettings, ModelSettings
from models import export as export_module
from models.export import ParityCheckFailed, export_model
from models.vocab_tokenizer import WordPieceOptions, build_wordpiece_tokenizer
from tests.conftest import TINY_POOLINGS

TEXTS = [
    "a man is playing a guitar .",
    "hi",
    "今天天气怎么样？",
    "how do i reset my password if i no longer have access to my email account",
    "混合 text 中文 mixed 123",
]


def load_encoder(folder: Path) -> Encoder:
    return Encoder.load(folder, ModelSettings(device="cpu"), BatcherSettings())


def encode(encoder: Encoder, texts: list[str]) -> np.ndarray:
    items = encoder.tokenize(texts)
    return np.stack([r.vector for r in encoder.run([EncodeRequest(t) for t in items])])


def torch_reference(source: Path, encoder: Encoder, texts: list[str], mode: PoolingMode):
    """Straight from transformers' BertModel, each text alone (no padding, no wrapper)."""
    model = BertModel.from_pretrained(str(source), attn_implementation="eager").eval()
    rows = []
    with torch.inference_mode():
        for item in encoder.tokenize(texts):
            ids = torch.from_numpy(item.ids[None])
            out = model(input_ids=ids, output_hidden_states=True)
            states = out.hidden_states
            if mode is PoolingMode.MEAN:
                vec = states[-1][0].mean(0)
            elif mode is PoolingMode.CLS:
                vec = states[-1][0, 0]
            elif mode is PoolingMode.FIRST_LAST_AVG:
                vec = (states[1][0].mean(0) + states[-1][0].mean(0)) / 2
            else:  # linear pooler: W h_cls + b, no tanh
                dense = model.pooler.dense
                vec = states[-1][0, 0] @ dense.weight.T + dense.bias
            rows.append(vec.numpy())
    return np.stack(rows)


@pytest.mark.parametrize("name", sorted(TINY_POOLINGS))
def test_tiny_export_matches_torch(name, tiny_models_dir, tiny_source_dir):
    folder = tiny_models_dir / name
    manifest = read_manifest(folder)  # verifies sha256 of every file
    mode = PoolingMode(TINY_POOLINGS[name])
    assert manifest.pooling is mode
    assert manifest.hidden_size == manifest.dimension == 32
    assert manifest.max_length == 128 and manifest.normalize is True
    assert set(manifest.files) == {"encoder.onnx", "tokenizer.json"}
    expected_roles = {OutputRole.LAST_HIDDEN_STATE.value}
    if mode is PoolingMode.FIRST_LAST_AVG:
        expected_roles.add(OutputRole.FIRST_LAYER_HIDDEN_STATE.value)
    if mode is PoolingMode.POOLER:
        expected_roles.add(OutputRole.POOLER_DENSE.value)
    assert set(manifest.onnx.outputs) == expected_roles
    assert manifest.source["parity_max_abs_diff"] <= 1e-4
    encoder = load_encoder(folder)
    served = encode(encoder, TEXTS)
    assert served.shape == (len(TEXTS), 32) and served.dtype == np.float32
    reference = torch_reference(tiny_source_dir, encoder, TEXTS, mode)
    np.testing.assert_allclose(served, reference, atol=1e-4, rtol=0)
    # distinct sentences give distinct vectors (the model is not degenerate)
    assert np.min(np.abs(served[0] - served[1]).max()) > 1e-2


def test_tokens_are_known_words(tiny_models_dir):
    encoder = load_encoder(tiny_models_dir / "tiny")
    unk = encoder.tokenizer.token_to_id("[UNK]")
    for item in encoder.tokenize(TEXTS):
        assert unk not in item.ids.tolist()


def test_batch_size_does_not_change_vectors(tiny_models_dir):
    encoder = load_encoder(tiny_models_dir / "tiny-fla")
    together = encode(encoder, TEXTS)
    alone = np.concatenate([encode(encoder, [t]) for t in TEXTS])
    np.testing.assert_allclose(together, alone, atol=1e-5, rtol=0)


def test_parity_failure_writes_nothing(tiny_source_dir, tmp_path, monkeypatch):
    real = export_module.reference_pool
    monkeypatch.setattr(export_module, "reference_pool", lambda *a, **k: real(*a, **k) + 1e-3)
    with pytest.raises(ParityCheckFailed, match="max abs diff"):
        export_model(tiny_source_dir, tmp_path, "broken", pooling="mean")
    assert list(tmp_path.iterdir()) == []


def test_existing_folder_needs_overwrite(export_tiny, tmp_path):
    folder = export_tiny("again", tmp_path, pooling="cls")
    before = json.loads((folder / "manifest.json").read_text())
    with pytest.raises(InvalidInput, match="already exists"):
        export_tiny("again", tmp_path, pooling="mean")
    export_tiny("again", tmp_path, pooling="mean", overwrite=True, max_length=64)
    after = read_manifest(folder)
    assert before["pooling"] == "cls" and after.pooling is PoolingMode.MEAN
    assert after.max_length == 64
    assert sorted(p.name for p in tmp_path.iterdir()) == ["again"]


def test_plain_hf_folder_needs_pooling(tiny_source_dir, tmp_path):
    with pytest.raises(InvalidInput, match="cls, mean, first_last_avg, pooler"):
        export_model(tiny_source_dir, tmp_path, "nopool")
    with pytest.raises(ValueError, match="valid: cls, mean"):
        export_model(tiny_source_dir, tmp_path, "badpool", pooling="max")


def test_max_length_beyond_positions_rejected(tiny_source_dir, tmp_path):
    with pytest.raises(InvalidInput, match="max_length"):
        export_model(tiny_source_dir, tmp_path, "long", pooling="mean", max_length=1024)


def test_missing_source_and_offline_hub_give_clear_errors(tmp_path, monkeypatch):
    with pytest.raises(InvalidInput, match="does not exist"):
        export_model(tmp_path / "nope", tmp_path, "x", pooling="mean")
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(InvalidInput, match="could not be fetched from the Hugging Face hub"):
        export_model("someone/not-cached-model-xyz", tmp_path, "x", pooling="mean")


def test_tokenizer_checked_against_transformers(
    tiny_models_dir, tiny_source_dir, tmp_path, monkeypatch
):
    manifest = read_manifest(tiny_models_dir / "tiny")
    assert manifest.source["tokenizer_check"] == "ids equal transformers' BertTokenizer"
    # a cased tokenizer for an uncased model (the source has no tokenizer_config, so
    # BertTokenizer's default do_lower_case=True applies) is refused before anything is written
    cased = build_wordpiece_tokenizer(tiny_source_dir / "vocab.txt", WordPieceOptions(False))
    monkeypatch.setattr(export_module, "load_source_tokenizer", lambda info: (cased, False))
    with pytest.raises(InvalidInput, match="disagrees with transformers'"):
        export_model(tiny_source_dir, tmp_path, "cased", pooling="mean")
    assert list(tmp_path.iterdir()) == []
