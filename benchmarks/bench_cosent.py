"""CoSENT vs its baselines on STS-B (issue 4 item 1): same data, encoder, budget and seed.

    flock /tmp/simserve-heavy.lock .venv/bin/python -m benchmarks.bench_cosent --epochs 2

Fine-tunes `minilm` on ../shared/data/stsb-en/train.tsv with each objective (cosent,
softmax, cosine_mse), selecting on dev.tsv, and writes the dev Spearman x100 per epoch,
the best epoch, and the training time per epoch into its section of BENCHMARKS.md.
Runs live in var/bench-cosent/<objective> and are resumable: re-running continues, and a
larger --epochs extends every run by the missing epochs.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import sys
from pathlib import Path

import torch

from models.losses import Objective
from models.train_cosent import TrainConfig, train
from models.training.checkpoint import RunState

SECTION = "cosent-training"
DATA = Path("../shared/data/stsb-en")
PUBLISHED_MINILM_DEV = 86.72  # MEASUREMENTS.md: sentence-transformers encode, STS-B dev
TARGET_GAIN = 1.5


def machine() -> str:
    cpu = platform.processor() or "cpu"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__} "
        f"({torch.get_num_threads()} threads), load average at the end {load}"
    )


def render(states: dict[Objective, RunState], args: argparse.Namespace) -> str:
    epochs = max(s.epochs_done for s in states.values())
    head = [
        "objective",
        "untrained",
        *[f"epoch {e}" for e in range(1, epochs + 1)],
        "best (epoch)",
        "s / epoch",
    ]
    rows = [f"| {' | '.join(head)} |", f"|{'---|' * len(head)}"]
    for objective, state in states.items():
        scores = [f"{r.dev_spearman:.2f}" for r in state.history]
        best = state.best
        seconds = sum(r.seconds for r in state.history) / max(len(state.history), 1)
        cells = [objective.value, f"{state.initial_dev_spearman:.2f}", *scores]
        cells += [f"**{best.dev_spearman:.2f}** ({best.epoch})", f"{seconds:.0f}"]
        rows.append(f"| {' | '.join(cells)} |")
    cosent = states[Objective.COSENT].best.dev_spearman
    others = [s.best.dev_spearman for o, s in states.items() if o is not Objective.COSENT]
    target = PUBLISHED_MINILM_DEV + TARGET_GAIN
    verdict = (
        f"CoSENT best {cosent:.2f} vs target {target:.2f} (minilm {PUBLISHED_MINILM_DEV} + {TARGET_GAIN}): "
        f"{'met' if cosent >= target else 'MISSED'}; beats both baselines: "
        f"{'yes' if all(cosent > o for o in others) else 'NO'}."
    )
    command = (
        "flock /tmp/simserve-heavy.lock .venv/bin/python -m benchmarks.bench_cosent "
        + " ".join(
            f"--{k.replace('_', '-')} {v}"
            for k, v in sorted(vars(args).items())
            if k not in {"bench_file", "train_pairs", "dev_pairs", "objectives"}
        )
    )
    return "\n".join(
        [
            f"<!-- {SECTION}:start -->",
            "## CoSENT vs Sentence-BERT softmax vs cosine-MSE (STS-B dev, Spearman x100)",
            "",
            f"Command: `{command}`  ",
            f"Machine: {machine()}  ",
            f"Data: `stsb-en/train.tsv` ({args.train_pairs} pairs), selected on `dev.tsv` "
            f"({args.dev_pairs} pairs). Encoder `minilm` (mean pooling), same seed, batch, lr, "
            "max length and epochs for all three; Adam constant lr, no warmup (METHODS.md 2.2). "
            "Softmax labels: score > 2.5 (the CoSENT post's Sentence-BERT baseline); "
            "cosine-MSE targets: score / 5. 'untrained' is the source model in the same harness; "
            "'s / epoch' is training time without the dev evaluation (shared, noisy CPU).",
            "",
            *rows,
            "",
            verdict,
            f"<!-- {SECTION}:end -->",
        ]
    )


def write_section(path: Path, text: str) -> None:
    old = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"<!-- {SECTION}:start -->.*?<!-- {SECTION}:end -->", re.S)
    new = (
        pattern.sub(lambda _: text, old)
        if pattern.search(old)
        else old.rstrip("\n") + "\n\n" + text + "\n"
    )
    path.write_text(new, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=2e-5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--objectives", nargs="+", default=[o.value for o in Objective])
    parser.add_argument("--runs-dir", default="var/bench-cosent")
    parser.add_argument("--bench-file", default="BENCHMARKS.md")
    args = parser.parse_args(argv)
    if not (DATA / "train.tsv").is_file():
        print(f"bench_cosent: {DATA} not found (needs ../shared/data)", file=sys.stderr)
        return 2
    states: dict[Objective, RunState] = {}
    for name in args.objectives:
        objective = Objective.parse(name)
        config = TrainConfig(
            source="minilm",
            train=str(DATA / "train.tsv"),
            dev=str(DATA / "dev.tsv"),
            name=f"bench-{objective.value}",
            out_dir=f"{args.runs_dir}/lr{args.lr:g}-bs{args.batch_size}-seed{args.seed}/{objective.value}",
            objective=objective,
            epochs=args.epochs,
            batch_size=args.batch_size,
            lr=args.lr,
            seed=args.seed,
            max_length=args.max_length,
            export=False,
        )
        states[objective] = train(config).state
        for r in states[objective].history:
            print(
                f"{objective.value} epoch {r.epoch}: dev {r.dev_spearman:.2f}, loss {r.train_loss:.4f}, {r.seconds:.0f} s"
            )
    args.train_pairs = sum(1 for _ in open(DATA / "train.tsv", encoding="utf-8")) - 1
    args.dev_pairs = sum(1 for _ in open(DATA / "dev.tsv", encoding="utf-8")) - 1
    text = render(states, args)
    print(text)
    if set(states) == set(Objective):
        write_section(Path(args.bench_file), text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
