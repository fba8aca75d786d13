"""A Chinese BERT laid out like SimBERT (vocab 13685, vocab.txt only, BERT with pooler) exports
and serves Chinese text. Layers and hidden size are shrunk for speed; vocab and architecture kept.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from transformers import BertModel

from app.engines.manifest import read_manifest
from models.encoding import encode_all, load_encoder
from models.export import export_model
from tests.tiny_models import SIMBERT_CONFIG, chinese_bert_vocab, write_tiny_bert_source

TEXTS = [
    "忘记密码怎么办？",
    "我的银行卡丢了",
    "今天北京天气怎么样",
    "信用卡额度提高",
    "如何修改手机号码",
]


@pytest.fixture(scope="module")
def simbert_like(tmp_path_factory):
    vocab = chinese_bert_vocab()
    assert len(vocab) == 13685 and vocab[100:104] == ["[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    source = write_tiny_bert_source(
        tmp_path_factory.mktemp("simbert") / "chinese_simbert",
        seed=7,
        hidden=64,
        layers=2,
        heads=4,
        intermediate=128,
        max_position=512,
        vocab=vocab,
    )
    out = tmp_path_factory.mktemp("zh-models")
    export_model(source, out, "simbert-tiny", pooling="pooler", max_length=64)
    return source, out


def test_simbert_layout_exports_and_serves_chinese(simbert_like):
    source, out = simbert_like
    config = json.loads((source / "config.json").read_text())
    assert config["vocab_size"] == SIMBERT_CONFIG["vocab_size"]
    assert sorted(p.name for p in source.iterdir() if "token" in p.name or "vocab" in p.name) == [
        "vocab.txt"
    ]
    manifest = read_manifest(out / "simbert-tiny")
    assert manifest.pooling.value == "pooler" and manifest.max_length == 64
    assert "pooler_dense" in manifest.onnx.outputs

    encoder = load_encoder(out, "simbert-tiny", device="cpu")
    items = encoder.tokenize(TEXTS)
    unk = encoder.tokenizer.token_to_id("[UNK]")
    assert unk == 100 and all(unk not in t.ids.tolist() for t in items)
    # one token per Chinese character (punctuation included), plus [CLS] and [SEP]
    assert [t.n_tokens for t in items] == [len(s) + 2 for s in TEXTS]
    assert items[0].ids[0] == 101 and items[0].ids[-1] == 102

    served = encode_all(encoder, TEXTS)
    model = BertModel.from_pretrained(str(source)).eval()
    with torch.inference_mode():
        ref = [
            model.pooler.dense(
                model(input_ids=torch.from_numpy(t.ids[None])).last_hidden_state[:, 0]
            )[0].numpy()
            for t in items
        ]
    np.testing.assert_allclose(served, np.stack(ref), atol=1e-4, rtol=0)
    assert np.abs(served[0] - served[1]).max() > 1e-2
