"""`python -m models train-simbert`: the SimBERT objective (docs/METHODS.md 3.1) on similar pairs.

Each pair (A, B) enters the batch in both orders, `[CLS] A [SEP] B [SEP]` and
`[CLS] B [SEP] A [SEP]` (segment 0 / 1) under the UniLM mask. Loss = token cross-entropy
on the segment-1 targets + in-batch softmax over the cosine matrix of the pooler vectors
(rows 2k and 2k+1 are partners, diagonal masked with -1e12, scale 30). The result is
exported as a served `simbert` model folder (`models.simbert.folder`).

Deviations from the reference (stated, chosen for a small CPU demo, all CLI options):
lr default 5e-5 instead of 2e-6 (which continued an already-trained SimBERT for 1.17M
steps); texts truncated to `--maxlen` tokens instead of cut at punctuation to 30 chars;
optional vocabulary trimming to the training corpus (SimBERT's keep_tokens idea).
"""

from __future__ import annotations

import argparse
import csv
import logging
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tokenizers import Tokenizer
from tqdm import tqdm

from models.simbert.folder import write_simbert_folder
from models.simbert.load import load_unilm, shrink_vocab
from models.simbert.unilm import UniLM
from models.simbert.vocab import trim_vocab
from models.simbert_words import write_word_list

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PairSource:
    path: Path
    min_score: float

    @classmethod
    def parse(cls, spec: str) -> PairSource:
        """`path.tsv` (every row) or `path.tsv:MIN` (rows with score >= MIN)."""
        path, _, threshold = spec.rpartition(":") if ":" in spec else (spec, "", "")
        try:
            return cls(Path(path), float(threshold) if threshold else float("-inf"))
        except ValueError:
            raise ValueError(f"bad pairs spec {spec!r}; expected PATH or PATH:MIN_SCORE") from None


def read_pairs(sources: Sequence[PairSource]) -> list[tuple[str, str]]:
    """(sentence1, sentence2) of every row whose score passes its source's threshold."""
    pairs = []
    for src in sources:
        with open(src.path, encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
                if float(row.get("score") or 0) >= src.min_score:
                    a, b = row["sentence1"].strip(), row["sentence2"].strip()
                    if a and b and a != b:
                        pairs.append((a, b))
    if not pairs:
        raise ValueError("no training pairs passed the filters")
    return pairs


def encode_batch(
    tokenizer: Tokenizer, pairs: Sequence[tuple[str, str]], maxlen: int
) -> dict[str, torch.Tensor]:
    """Both orders of each pair: rows 2k = A->B, 2k+1 = B->A. Returns (2n, T) int64 tensors."""
    texts = [t for pair in pairs for t in pair]
    encs = tokenizer.encode_batch(texts)
    ids = [e.ids[: maxlen - 1] + [e.ids[-1]] if len(e.ids) > maxlen else e.ids for e in encs]
    rows = []
    for k in range(len(pairs)):
        a, b = ids[2 * k], ids[2 * k + 1]
        rows.append((a + b[1:], len(a)))
        rows.append((b + a[1:], len(b)))
    width = max(len(r) for r, _ in rows)
    out = {n: torch.zeros(len(rows), width, dtype=torch.long) for n in ("ids", "seg", "mask")}
    for i, (row, n_src) in enumerate(rows):
        out["ids"][i, : len(row)] = torch.tensor(row)
        out["seg"][i, n_src : len(row)] = 1
        out["mask"][i, : len(row)] = 1
    return out


def length_batches(lengths: Sequence[int], batch: int, pool: int = 50) -> list[list[int]]:
    """One epoch of batches: shuffle, sort pools of `pool` batches by length (less padding),
    cut into batches, shuffle the batches. Uses the `random` module's seeded state."""
    order = random.sample(range(len(lengths)), len(lengths))
    out = []
    for start in range(0, len(order), batch * pool):
        chunk = sorted(order[start : start + batch * pool], key=lambda i: lengths[i])
        out += [chunk[i : i + batch] for i in range(0, len(chunk), batch)]
    random.shuffle(out)
    return out


def simbert_loss(
    model: UniLM, batch: dict[str, torch.Tensor], scale: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """(seq2seq CE on segment-1 targets, in-batch cosine softmax CE)."""
    ids, seg, mask = batch["ids"], batch["seg"], batch["mask"]
    hidden, _ = model.hidden(ids, seg, mask)
    target_pos = (seg[:, 1:] == 1) & (mask[:, 1:] == 1)  # predict token t+1 from position t
    logits = model.head(hidden[:, :-1][target_pos])
    seq2seq = F.cross_entropy(logits, ids[:, 1:][target_pos])
    vectors = F.normalize(model.pooler(hidden[:, 0]), dim=-1)
    sims = vectors @ vectors.t() - torch.eye(len(vectors)) * 1e12
    partners = torch.arange(len(vectors)) ^ 1
    similarity = F.cross_entropy(sims * scale, partners)
    return seq2seq, similarity


def train(args: argparse.Namespace) -> Path:
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    if args.threads:
        torch.set_num_threads(args.threads)
    pairs = read_pairs([PairSource.parse(s) for s in args.pairs])
    model = load_unilm(args.source)
    tokenizer = Tokenizer.from_file(str(Path(args.source) / "tokenizer.json"))
    if args.trim_vocab:
        trimmed = trim_vocab(tokenizer.to_str(), [t for p in pairs for t in p])
        tokenizer = trimmed.tokenizer
        model = shrink_vocab(model, trimmed.keep_ids)
        log.info("vocabulary trimmed to %d tokens", len(trimmed.keep_ids))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    batches: list[list[int]] = []
    lengths = [len(a) + len(b) for a, b in pairs]
    started = time.monotonic()
    model.train()
    bar = tqdm(range(args.steps), desc="train-simbert", unit="step")
    for step in bar:
        if not batches:
            batches = length_batches(lengths, args.batch_pairs)
        chosen = batches.pop()
        batch = encode_batch(tokenizer, [pairs[i] for i in chosen], args.maxlen)
        seq2seq, similarity = simbert_loss(model, batch, args.scale)
        loss = seq2seq + similarity
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        bar.set_postfix(seq2seq=f"{seq2seq.item():.3f}", sim=f"{similarity.item():.3f}")
        if args.max_minutes and time.monotonic() - started > 60 * args.max_minutes:
            log.warning("time budget reached after %d steps", step + 1)
            break
    steps_done = step + 1
    source = {
        "trained_from": str(args.source),
        "objective": f"simbert seq2seq + in-batch cosine softmax (scale {args.scale})",
        "pairs": list(args.pairs),
        "n_pairs": len(pairs),
        "steps": steps_done,
        "batch_pairs": args.batch_pairs,
        "lr": args.lr,
        "seed": args.seed,
        "maxlen": args.maxlen,
        "vocab_size": int(model.config.vocab_size),
    }
    manifest = write_simbert_folder(
        model.eval(),
        tokenizer,
        Path(args.out),
        name=args.name or Path(args.out).name,
        source_max_length=args.maxlen,
        quantize=args.quantize,
        source=source,
    )
    # the word list of /paraphrase's word rule (issue 11): the training text's words
    words = write_word_list(Path(args.out), (t for p in pairs for t in p))
    log.info("wrote %s (%s) and %d training-text words", args.out, manifest.files, words)
    return Path(args.out)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", required=True, type=Path, help="HF BERT/RoFormer folder")
    parser.add_argument(
        "--pairs", nargs="+", required=True, help="TSV(s) sentence1/sentence2/score, PATH[:MIN]"
    )
    parser.add_argument("--out", required=True, type=Path, help="model folder to write")
    parser.add_argument("--name", default=None, help="model name (default: folder name)")
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--batch-pairs", type=int, default=32, help="pairs per batch (x2 rows)")
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--weight-decay", type=float, default=0.01)
    parser.add_argument("--scale", type=float, default=30.0, help="cosine softmax scale")
    parser.add_argument("--maxlen", type=int, default=32, help="tokens per text")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0 = default)")
    parser.add_argument("--max-minutes", type=float, default=0, help="stop early (0 = no limit)")
    parser.add_argument("--trim-vocab", action="store_true", help="keep only used pieces")
    parser.add_argument("--quantize", action="store_true", help="int8 dynamic quantization")


def run(args: argparse.Namespace) -> int:
    """Handler for the `python -m models train-simbert` sub-command."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("models").setLevel(logging.INFO)
    train(args)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m models train-simbert", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
