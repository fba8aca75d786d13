"""Tiny random-weight BERT sources for tests (seeded, hidden 32, 2 layers, vocab.txt only).

`write_tiny_bert_source(folder)` writes what a Chinese BERT checkpoint ships: config.json,
model.safetensors and a vocab.txt (no tokenizer.json), with English word pieces and CJK
characters, so both scripts tokenise to real ids. Export it with `models.export.export_model`.
"""

from __future__ import annotations

from pathlib import Path

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
PUNCT = list("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~") + ["，", "。", "？", "！", "、", "：", "；"]
DIGITS = [str(d) for d in range(10)] + ["##" + str(d) for d in range(10)]
WORDS = (
    "a an the is are was be to of and or in on at for with how what why do does i you my "
    "your it this that man woman men women playing plays play guitar piano dog cat cats "
    "quick brown fox jumps over lazy weather today tomorrow good bad great reset password "
    "email account access have no longer if can not cafe deja vu naive resume text mixed "
    "hello world question answer similar same different apple banana car bus train sentence "
    "search find duplicate machine learning model vector hi"
).split()
PIECES = ["##s", "##ing", "##ed", "##er", "##ly", "##es", "##n", "##t", "##y", "##e", "##a"]
CJK = list(
    "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过"
    "家学对可她里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本"
    "见经头面公同三已老从动两长知民样现分将外但身些与高意进把法此实回二理美点月明其种声全工己"
    "话儿者向情部正名定女问力机给等几很业最间新什打便位因重被走电四第门相次东政海口使教西再平"
    "气今怎密码忘记账号登录手机银行卡怎样办理修改帐户余额查询信用还款额度提高为何无法注册狗猫"
    "吃喝玩乐北京上海深圳广州英语中文混合"
)
LATIN = list("abcdefghijklmnopqrstuvwxyz") + ["##" + c for c in "abcdefghijklmnopqrstuvwxyz"]


def tiny_vocab() -> list[str]:
    """Ordered, duplicate-free vocabulary (specials first, [PAD] = 0)."""
    seen: dict[str, None] = {}
    for token in SPECIALS + PUNCT + DIGITS + WORDS + PIECES + CJK + LATIN:
        seen.setdefault(token, None)
    return list(seen)


def write_vocab(folder: Path, tokens: list[str]) -> Path:
    path = Path(folder) / "vocab.txt"
    path.write_text("\n".join(tokens) + "\n", encoding="utf-8")
    return path


def write_tiny_bert_source(
    folder: Path,
    *,
    seed: int = 0,
    hidden: int = 32,
    layers: int = 2,
    heads: int = 2,
    intermediate: int = 64,
    max_position: int = 128,
    vocab: list[str] | None = None,
    initializer_range: float = 0.2,
) -> Path:
    """Write a random-weight BertModel (with pooler) + vocab.txt into `folder`; returns it.

    initializer_range is larger than BERT's 0.02 so random sentences get clearly different
    vectors (at 0.02 every token's output is nearly the LayerNorm bias).
    """
    import torch
    from transformers import BertConfig, BertModel

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tokens = vocab or tiny_vocab()
    config = BertConfig(
        vocab_size=len(tokens),
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=intermediate,
        max_position_embeddings=max_position,
        initializer_range=initializer_range,
        type_vocab_size=2,
        pad_token_id=0,
    )
    torch.manual_seed(seed)
    model = BertModel(config, add_pooling_layer=True).eval()
    model.save_pretrained(str(folder))
    write_vocab(folder, tokens)
    return folder


def build_tiny_st_model(folder: Path, *, pooling: str = "mean", seed: int = 0) -> Path:
    """The tiny random BERT as a sentence-transformers folder (`folder/st`, with tokenizer.json)."""
    from sentence_transformers import SentenceTransformer

    hf = write_tiny_bert_source(folder / "hf", seed=seed)
    model = SentenceTransformer(str(hf), device="cpu")
    model[1].pooling_mode = pooling
    out = folder / "st"
    model.save(str(out), create_model_card=False)
    return out


# SimBERT (chinese_simbert_L-12_H-768_A-12) public bert_config.json, vocab size 13685.
SIMBERT_CONFIG = {
    "attention_probs_dropout_prob": 0.1,
    "hidden_act": "gelu",
    "hidden_dropout_prob": 0.1,
    "hidden_size": 768,
    "initializer_range": 0.02,
    "intermediate_size": 3072,
    "max_position_embeddings": 512,
    "num_attention_heads": 12,
    "num_hidden_layers": 12,
    "type_vocab_size": 2,
    "vocab_size": 13685,
}


def chinese_bert_vocab(size: int = SIMBERT_CONFIG["vocab_size"]) -> list[str]:
    """A Chinese-BERT-shaped vocab: [PAD], [unused1..99], [UNK]=100, [CLS]=101, [SEP]=102,
    [MASK]=103, punctuation, digits, Latin pieces, common CJK, then U+4E00... up to `size`.
    """
    tokens = ["[PAD]"] + [f"[unused{i}]" for i in range(1, 100)]
    tokens += ["[UNK]", "[CLS]", "[SEP]", "[MASK]"] + PUNCT + DIGITS + LATIN + WORDS + PIECES + CJK
    tokens = list(dict.fromkeys(tokens))
    code = 0x4E00
    while len(tokens) < size:
        tokens.append(chr(code))
        code += 1
    return tokens[:size]
