"""`python -m models train-simbert`: the SimBERT objective (docs/METHODS.md 3.1) on similar pairs.

Each pair (A, B) enters the batch in both orders, `[CLS] A [SEP] B [SEP]` and
`[CLS] B [SEP] A [SEP]` (segment 0 / 1) under the UniLM mask. Loss = token cross-entropy
on the segment-1 targets + in-batch softmax over the cosine matrix of the pooler vectors
(rows 2k and 2k+1 are partners, diagonal masked with -1e12, scale 30). The result is
exported as a served `simbert` model folder (`models.simbert.folder`).

Optional denoising rows (`--denoise`, issue 11 item 2; `models/simbert/noise.py`): each step
adds `--denoise-per-batch` single-order rows `[CLS] corrupted [SEP] sentence [SEP]` drawn
from every sentence of the given TSVs, whose token cross-entropy is added to the loss (they
stay out of the similarity loss, which needs partner rows).

`--work-dir` makes the run resumable: every `--save-every` steps the model, optimizer,
schedule, batch order and RNG states go to WORK_DIR/state.pt (written, then renamed in);
a re-run with the same arguments continues from there.

Deviations from the reference (stated, chosen for a small CPU demo, all CLI options):
lr default 5e-5 instead of 2e-6 (which continued an already-trained SimBERT for 1.17M
steps); texts truncated to `--maxlen` tokens instead of cut at punctuation to 30 chars;
optional vocabulary trimming to the training corpus (SimBERT's keep_tokens idea).
"""

from __future__ import annotations

import argparse
import csv
import logging
import os
import random
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tokenizers import Tokenizer
from tqdm import tqdm

from models.corpus import read_sentences
from models.simbert.folder import write_simbert_folder
from models.simbert.load import load_unilm, shrink_vocab
from models.simbert.noise import NoiseConfig, corrupt
from models.simbert.unilm import UniLM
from models.simbert.vocab import trim_vocab
from models.simbert_words import write_word_list
from models.training.checkpoint import capture_rng, restore_rng

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


def _truncate(ids: list[int], maxlen: int) -> list[int]:
    return ids[: maxlen - 1] + [ids[-1]] if len(ids) > maxlen else ids


def _rows_to_batch(rows: Sequence[tuple[list[int], int]]) -> dict[str, torch.Tensor]:
    """(ids, source length) rows -> padded (n, T) int64 ids / seg / mask tensors."""
    width = max(len(r) for r, _ in rows)
    out = {n: torch.zeros(len(rows), width, dtype=torch.long) for n in ("ids", "seg", "mask")}
    for i, (row, n_src) in enumerate(rows):
        out["ids"][i, : len(row)] = torch.tensor(row)
        out["seg"][i, n_src : len(row)] = 1
        out["mask"][i, : len(row)] = 1
    return out


def encode_batch(
    tokenizer: Tokenizer, pairs: Sequence[tuple[str, str]], maxlen: int
) -> dict[str, torch.Tensor]:
    """Both orders of each pair: rows 2k = A->B, 2k+1 = B->A. Returns (2n, T) int64 tensors."""
    texts = [t for pair in pairs for t in pair]
    ids = [_truncate(e.ids, maxlen) for e in tokenizer.encode_batch(texts)]
    rows = []
    for k in range(len(pairs)):
        a, b = ids[2 * k], ids[2 * k + 1]
        rows.append((a + b[1:], len(a)))
        rows.append((b + a[1:], len(b)))
    return _rows_to_batch(rows)


def encode_one_way(
    tokenizer: Tokenizer, pairs: Sequence[tuple[str, str]], maxlen: int
) -> dict[str, torch.Tensor]:
    """One row per (source, target) pair, source -> target only. Returns (n, T) tensors."""
    texts = [t for pair in pairs for t in pair]
    ids = [_truncate(e.ids, maxlen) for e in tokenizer.encode_batch(texts)]
    rows = [(ids[2 * k] + ids[2 * k + 1][1:], len(ids[2 * k])) for k in range(len(pairs))]
    return _rows_to_batch(rows)


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


def seq2seq_loss(model: UniLM, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Token cross-entropy on the segment-1 targets (the UniLM decoder's loss)."""
    hidden, _ = model.hidden(batch["ids"], batch["seg"], batch["mask"])
    return _seq2seq_from_hidden(model, hidden, batch)


def _seq2seq_from_hidden(
    model: UniLM, hidden: torch.Tensor, batch: dict[str, torch.Tensor]
) -> torch.Tensor:
    ids, seg, mask = batch["ids"], batch["seg"], batch["mask"]
    target_pos = (seg[:, 1:] == 1) & (mask[:, 1:] == 1)  # predict token t+1 from position t
    logits = model.head(hidden[:, :-1][target_pos])
    return F.cross_entropy(logits, ids[:, 1:][target_pos])


def simbert_loss(
    model: UniLM, batch: dict[str, torch.Tensor], scale: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """(seq2seq CE on segment-1 targets, in-batch cosine softmax CE)."""
    hidden, _ = model.hidden(batch["ids"], batch["seg"], batch["mask"])
    seq2seq = _seq2seq_from_hidden(model, hidden, batch)
    vectors = F.normalize(model.pooler(hidden[:, 0]), dim=-1)
    sims = vectors @ vectors.t() - torch.eye(len(vectors)) * 1e12
    partners = torch.arange(len(vectors)) ^ 1
    similarity = F.cross_entropy(sims * scale, partners)
    return seq2seq, similarity


def distinct_sentences(paths: Sequence[Path]) -> list[str]:
    """Distinct sentences of the files (`models.corpus.read_sentences`: both columns of a TSV,
    any score), stripped, in first-seen order."""
    return list(dict.fromkeys(t.strip() for path in paths for t in read_sentences(path)))


STATE_FILE = "state.pt"


def save_state(work_dir: Path, payload: dict) -> None:
    """WORK_DIR/state.pt, written next to it and renamed in (a crash leaves the old one)."""
    work_dir.mkdir(parents=True, exist_ok=True)
    tmp = work_dir / f".{STATE_FILE}.tmp"
    torch.save({**payload, "rng": capture_rng()}, tmp)
    os.replace(tmp, work_dir / STATE_FILE)


def load_state(work_dir: Path | None) -> dict | None:
    path = work_dir / STATE_FILE if work_dir else None
    if path is None or not path.exists():
        return None
    return torch.load(path, map_location="cpu", weights_only=False)


def _warmup(step: int, warmup_steps: int) -> float:
    """Learning-rate factor: linear from 1/warmup to 1 over the first steps, then 1."""
    return min(1.0, (step + 1) / warmup_steps) if warmup_steps > 0 else 1.0


def train(args: argparse.Namespace) -> Path:
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    if args.threads:
        torch.set_num_threads(args.threads)
    pairs = read_pairs([PairSource.parse(s) for s in args.pairs])
    sentences = distinct_sentences(args.denoise) if args.denoise_per_batch else []
    noise = NoiseConfig()
    model = load_unilm(args.source)
    tokenizer = Tokenizer.from_file(str(Path(args.source) / "tokenizer.json"))
    if args.trim_vocab:
        texts = [t for p in pairs for t in p] + sentences
        trimmed = trim_vocab(tokenizer.to_str(), texts)
        tokenizer = trimmed.tokenizer
        model = shrink_vocab(model, trimmed.keep_ids)
        log.info("vocabulary trimmed to %d tokens", len(trimmed.keep_ids))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: _warmup(step, args.warmup_steps)
    )
    batches: list[list[int]] = []
    lengths = [len(a) + len(b) for a, b in pairs]
    denoise_order: list[int] = []
    first_step = 0
    state = load_state(args.work_dir)
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"])
        batches, denoise_order, first_step = state["batches"], state["denoise_order"], state["step"]
        restore_rng(state["rng"])
        log.info("resumed from %s at step %d", args.work_dir, first_step)
    started = time.monotonic()
    model.train()
    bar = tqdm(
        range(first_step, args.steps),
        desc="train-simbert",
        unit="step",
        initial=first_step,
        total=args.steps,
    )
    step = first_step - 1
    for step in bar:
        if not batches:
            batches = length_batches(lengths, args.batch_pairs)
        chosen = batches.pop()
        batch = encode_batch(tokenizer, [pairs[i] for i in chosen], args.maxlen)
        seq2seq, similarity = simbert_loss(model, batch, args.scale)
        loss = seq2seq + similarity
        shown = {"seq2seq": seq2seq.item(), "sim": similarity.item()}
        if sentences:
            if len(denoise_order) < args.denoise_per_batch:
                denoise_order += random.sample(range(len(sentences)), len(sentences))
            picked = [sentences[denoise_order.pop()] for _ in range(args.denoise_per_batch)]
            rows = [(corrupt(text, noise, random), text) for text in picked]
            denoise = seq2seq_loss(model, encode_one_way(tokenizer, rows, args.maxlen))
            loss = loss + args.denoise_weight * denoise
            shown["denoise"] = denoise.item()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        bar.set_postfix({k: f"{v:.3f}" for k, v in shown.items()})
        if args.work_dir and (step + 1) % args.save_every == 0:
            save_state(
                args.work_dir,
                {
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "schedule": schedule.state_dict(),
                    "batches": batches,
                    "denoise_order": denoise_order,
                    "step": step + 1,
                },
            )
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
        "warmup_steps": args.warmup_steps,
        "denoise": (
            {
                "texts": [str(p) for p in args.denoise],
                "n_sentences": len(sentences),
                "rows_per_step": args.denoise_per_batch,
                "weight": args.denoise_weight,
                "noise": asdict(noise),
            }
            if sentences
            else None
        ),
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
    parser.add_argument("--warmup-steps", type=int, default=0, help="linear lr warm-up steps")
    parser.add_argument(
        "--denoise", nargs="*", type=Path, default=[], help="TSVs whose sentences are denoised"
    )
    parser.add_argument(
        "--denoise-per-batch", type=int, default=0, help="denoising rows per step (0 = off)"
    )
    parser.add_argument("--denoise-weight", type=float, default=1.0)
    parser.add_argument("--work-dir", type=Path, default=None, help="resumable state folder")
    parser.add_argument("--save-every", type=int, default=50, help="steps between saves")


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
