"""A tiny random-weight SimBERT folder (BERT layout, word-level vocab) built with the project's
own export code, for generation and /paraphrase tests. Needs torch (the `train` extra)."""

from __future__ import annotations

import string
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

WORDS = (
    "the a an is are was how what why where who to of in on for and or not do does can "
    "i you we they he she it my your cat dog man woman car house weather today good bad "
    "big small make get play eat run walk read write book question answer same different"
).split()


def tiny_tokenizer(extra: tuple[str, ...] = ()) -> Tokenizer:
    """The tiny word-level WordPiece vocabulary, plus `extra` tokens (e.g. CJK characters)."""
    chars = list(string.ascii_lowercase + string.digits + string.punctuation)
    vocab = [
        "[PAD]",
        "[UNK]",
        "[CLS]",
        "[SEP]",
        "[MASK]",
        *chars,
        *("##" + c for c in chars),
        *WORDS,
        *extra,
    ]
    tok = Tokenizer(models.WordPiece({t: i for i, t in enumerate(vocab)}, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", 2), ("[SEP]", 3)],
    )
    tok.decoder = decoders.WordPiece()
    return tok


def build_tiny_simbert(
    out: Path,
    *,
    name: str = "tiny-simbert",
    sep_bias: float = 0.0,
    seed: int = 0,
    extra_tokens: tuple[str, ...] = (),
):
    """Write a kind=simbert folder; `sep_bias` is added to the [SEP] logit (stop tests)."""
    import torch
    import transformers

    from models.simbert.folder import write_simbert_folder
    from models.simbert.load import assemble
    from models.simbert.unilm import Architecture

    tok = tiny_tokenizer(extra_tokens)
    cfg = transformers.BertConfig(
        vocab_size=tok.get_vocab_size(),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    torch.manual_seed(seed)
    base = transformers.BertModel(cfg, add_pooling_layer=False).eval()
    model = assemble(Architecture.BERT, base, {})
    with torch.no_grad():
        model.head.bias.normal_(0, 1.0)  # some spread so sampling is not uniform
        model.head.bias[3] += sep_bias
    return write_simbert_folder(
        model,
        tok,
        Path(out) / name,
        name=name,
        max_length=64,
        source_max_length=16,
        sampling={"top_k": 5, "top_p": None, "temperature": 1.0, "max_new_tokens": 12},
    )
