"""A BERT-base-shaped Chinese encoder for the race (issue 16.5), built by a command.

    python -m benchmarks.race_bert_base --out var/race/bert-base-zh-st

12 layers x 768 hidden, 12 heads, 3072 intermediate, 512 positions and a 21,128-piece
WordPiece vocabulary (the size of bert-base-chinese, whose shape text2vec-base, SimBERT-base
and RoFormer-Sim share), with random weights (seed 0, Hugging Face's init, std 0.02):
speed depends on the shape and the token counts, not on what the weights learned. Saved as
a sentence-transformers folder with mean pooling, so sentence-transformers, infinity-emb
and `python -m models export` all read it. Never committed (about 400 MB).

The vocabulary: the special pieces, then every single-CJK-character piece of the committed
`zh-minilm` tokenizer (so Chinese text tokenizes one character a piece, as bert-base-chinese
does), then its other pieces in id order, cut or padded with `[unused*]` to 21,128.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ZH_TOKENIZER = ROOT / "models" / "zoo" / "zh-minilm" / "tokenizer.json"
VOCAB_SIZE = 21128
SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def is_cjk_char(piece: str) -> bool:
    """One CJK Unified Ideograph (basic block or extension A)."""
    return len(piece) == 1 and ("\u4e00" <= piece <= "\u9fff" or "\u3400" <= piece <= "\u4dbf")


def chinese_vocab(tokenizer_json: Path, size: int = VOCAB_SIZE) -> list[str]:
    """`size` distinct WordPiece pieces: specials, CJK characters, then the rest by id."""
    vocab = json.loads(tokenizer_json.read_text(encoding="utf-8"))["model"]["vocab"]
    by_id = [piece for piece, _ in sorted(vocab.items(), key=lambda kv: kv[1])]
    ordered = list(SPECIALS)
    ordered += [p for p in by_id if is_cjk_char(p)]
    ordered += [p for p in by_id if not is_cjk_char(p) and p not in SPECIALS]
    ordered = list(dict.fromkeys(ordered))[:size]
    taken = set(ordered)
    fillers = (f"[unused{i}]" for i in range(size + len(taken)))
    ordered += [f for f in fillers if f not in taken][: size - len(ordered)]
    return ordered


def build(out: Path, seed: int = 0) -> Path:
    """Write the sentence-transformers folder to `out` (kept when already complete)."""
    if (out / "modules.json").exists():
        return out
    import torch
    from transformers import BertConfig, BertModel, BertTokenizer

    out.mkdir(parents=True, exist_ok=True)
    vocab_file = out / "vocab.txt"
    vocab_file.write_text("\n".join(chinese_vocab(ZH_TOKENIZER)) + "\n", encoding="utf-8")
    BertTokenizer(vocab=str(vocab_file), do_lower_case=True).save_pretrained(str(out))
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=VOCAB_SIZE,
        hidden_size=768,
        num_hidden_layers=12,
        num_attention_heads=12,
        intermediate_size=3072,
        max_position_embeddings=512,
        type_vocab_size=2,
    )
    BertModel(config).eval().save_pretrained(str(out))
    (out / "1_Pooling").mkdir(exist_ok=True)
    (out / "1_Pooling" / "config.json").write_text(
        json.dumps({"word_embedding_dimension": 768, "pooling_mode_mean_tokens": True})
    )
    (out / "sentence_bert_config.json").write_text(
        json.dumps({"max_seq_length": 512, "do_lower_case": False})
    )
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {
            "idx": 1,
            "name": "1",
            "path": "1_Pooling",
            "type": "sentence_transformers.models.Pooling",
        },
    ]
    (out / "modules.json").write_text(json.dumps(modules, indent=2))  # written last: complete
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "var" / "race" / "bert-base-zh-st")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(build(args.out, args.seed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
