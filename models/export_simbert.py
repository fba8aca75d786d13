"""`python -m models export-simbert`: serve an existing SimBERT / RoFormer-Sim checkpoint.

Reads a Hugging Face folder (config.json, weights, tokenizer.json or vocab.txt), e.g. the
SimBERT ports of docs/METHODS.md 3.5 (`WangZeJun/simbert-base-chinese`: BERT) or
`junnyu/roformer_chinese_sim_char_base` (RoFormer), and writes a `simbert` model folder:
encoder = pooler Dense over [CLS] without tanh; generator = UniLM with KV cache. The
sampling defaults follow the reference code: SimBERT top-k 5 with at most 32 new tokens
and a 32-token source; RoFormer-Sim top-p 0.95 with 64 (docs/METHODS.md 3.2).
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from pathlib import Path

from tokenizers import Tokenizer

from models.simbert.folder import write_simbert_folder
from models.simbert.load import load_unilm
from models.simbert.unilm import Architecture
from models.vocab_tokenizer import WordPieceOptions, build_wordpiece_tokenizer

DEFAULTS = {
    Architecture.BERT: ({"top_k": 5, "top_p": None, "temperature": 1.0, "max_new_tokens": 32}, 32),
    Architecture.ROFORMER: (
        {"top_k": None, "top_p": 0.95, "temperature": 1.0, "max_new_tokens": 64},
        64,
    ),
}


def load_tokenizer(folder: Path) -> Tokenizer:
    if (folder / "tokenizer.json").exists():
        return Tokenizer.from_file(str(folder / "tokenizer.json"))
    if (folder / "vocab.txt").exists():
        options = WordPieceOptions.from_tokenizer_config(folder)
        return build_wordpiece_tokenizer(folder / "vocab.txt", options)
    raise ValueError(f"{folder}: neither tokenizer.json nor vocab.txt")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", required=True, type=Path, help="HF BERT/RoFormer folder")
    parser.add_argument("--out", required=True, type=Path, help="model folder to write")
    parser.add_argument("--name", default=None)
    parser.add_argument("--max-length", type=int, default=128, help="encoder max tokens")
    parser.add_argument("--quantize", action="store_true", help="int8 dynamic quantization")


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    model = load_unilm(args.source)
    sampling, source_max = DEFAULTS[model.architecture]
    lowercase = bool(getattr(model.config, "do_lower_case", True))
    write_simbert_folder(
        model,
        load_tokenizer(Path(args.source)),
        args.out,
        name=args.name or Path(args.out).name,
        max_length=args.max_length,
        source_max_length=source_max,
        lowercase=lowercase,
        quantize=args.quantize,
        sampling=sampling,
        source={"exported_from": str(args.source)},
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m models export-simbert", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
