"""The race (issues 6 and 16): this service vs infinity-emb, same model, same load, one run.

    flock /tmp/simserve-heavy.lock python -m benchmarks.race [--model bert-base] [--seconds 15]

Serves one model with this service as fp32, dynamic int8 and static (batch-invariant) int8,
with infinity-emb 0.0.78 from its own venv (optimum/ONNX and torch engines, mean pooling)
and, as the no-server baseline, measures sentence-transformers' offline encode. `--model
minilm` (default) races the packaged all-MiniLM-L6-v2 on STS-B dev sentences; `--model
bert-base` a random BERT-base-shaped Chinese encoder (benchmarks/race_bert_base.py) on
Chinese STS-B dev sentences. Each server's vectors are checked against
sentence-transformers (min cosine over the check sentences >= 0.999 for fp32, >= 0.97 for
int8) before its speed counts. Loads, closed loop: (a) infinity's protocol, requests of 256
sentences; (b) 32 concurrent clients sending one sentence; (c) 4 clients sending
32-sentence batches. Writes the `race` section of BENCHMARKS.md (`--section` another).
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from benchmarks import race_servers as servers
from benchmarks.race_models import RaceModel, bert_base_race, infinity_folder, minilm_race
from benchmarks.race_rounds import LOADS, Contender, Load, race_all
from benchmarks.report import table, write_section

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"


def st_offline(model_dir: Path, sentences: list[str], threads: int) -> dict[str, float]:
    """sentence-transformers encode: best batched sentences/s and single-sentence p50."""
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(threads)
    model = SentenceTransformer(str(model_dir), device="cpu")
    model.encode(sentences[:64], batch_size=32)
    result = {}
    for bs in (32, 128):
        start = time.perf_counter()
        model.encode(sentences, batch_size=bs)
        result[f"bs{bs}"] = len(sentences) / (time.perf_counter() - start)
    times = []
    for text in sentences[:200]:
        t0 = time.perf_counter()
        model.encode([text], batch_size=1)
        times.append(time.perf_counter() - t0)
    result["p50_ms"] = float(np.median(times) * 1e3)
    return result


def st_vectors(model_dir: Path, texts: list[str]) -> np.ndarray:
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(model_dir), device="cpu").encode(
        texts, batch_size=32, normalize_embeddings=True
    )


def report(
    contenders: list[Contender],
    offline: dict[str, float] | None,
    args,
    n_sentences: int,
    loads: Sequence[Load] = LOADS,
    race: RaceModel | None = None,
) -> str:
    header = ["server", "precision", "min cos vs ST"]
    for load in loads:
        header += [
            f"{load.key} sent/s",
            f"{load.key} p50 ms",
            f"{load.key} p99 ms",
            f"{load.key} err",
            f"{load.key} pad eff",
        ]
    rows = []
    for c in contenders:
        row = [c.spec.name, c.spec.precision, f"{c.min_cosine:.5f}"]
        for load in loads:
            r = c.loads.get(load.key)
            row += (
                [r.sentences_per_s, r.p50_ms, r.p99_ms, r.errors, _efficiency(r)]
                if r
                else ["-"] * 5
            )
        rows.append(row)
    lines = [table(header, rows), ""]
    if offline is not None:
        lines.append(
            f"sentence-transformers offline encode (no server, torch {args.threads} threads, "
            f"first {args.offline_sentences} sentences): {offline['bs32']:.0f} sentences/s at "
            f"batch 32, {offline['bs128']:.0f} at batch 128; single sentence p50 "
            f"{offline['p50_ms']:.1f} ms."
        )
        lines.append("")
    lines.append(
        "pad eff: padding efficiency, real / padded tokens of the server's onnxruntime runs "
        "during the load (its /metrics counters; median over rounds; - where a server has none)."
    )
    lines.append("")
    lines.append(
        f"Loads: {'; '.join(load.label for load in loads)}; closed loop; all servers up "
        f"at once, {args.rounds} interleaved rounds (server order rotated), {args.seconds:.0f} s "
        "measured per load and round after 2 s warm-up, median over rounds (errors summed); "
        f"{n_sentences} {race.sentences_label if race else 'STS-B dev sentences'} sampled "
        "per request (seeded); client = "
        "benchmarks/race_load.py (asyncio keep-alive) on the same 2 cores."
    )
    lines.append("")
    lines.append("Configurations:")
    lines += [
        f"- `{c.spec.name}`: {c.spec.config}" + (f" — {c.note}" if c.note else "")
        for c in contenders
    ]
    lines += ["", *verdict(contenders, ISSUE_16)]
    lines += [
        "",
        f"1-minute load average at start / end: {args.load_start:.1f} / {os.getloadavg()[0]:.1f} "
        "(the machine's 2 cores are shared with other work; compare rows of this run only).",
    ]
    return "\n".join(lines)


def _efficiency(result) -> str:
    value = result.padding_efficiency
    return f"{value:.2f}" if value == value else "-"


class Targets(NamedTuple):
    """Throughput goals against infinity-emb's best correct peer per load, by precision."""

    issue: str
    goals: dict[str, float]  # precision -> at least this many times the peer's sentences/s
    lower_p99: frozenset[str]  # precisions that must also beat the peer's p99


ISSUE_6 = Targets("issue 6", {"fp32": 1.4, "int8": 2.0}, frozenset({"fp32"}))
# issue 16: the int8 goal is for the batch-invariant (static) format only
ISSUE_16 = Targets("issue 16", {"fp32": 1.2, "int8-static": 2.0}, frozenset())


def verdict(contenders: list[Contender], targets: Targets = ISSUE_6) -> list[str]:
    """Target lines for loads (b) and (c): each simserve row against infinity-emb's best
    correct configuration; a precision without a goal gets its ratio only."""
    peers = [
        c
        for c in contenders
        if c.spec.name.startswith("infinity") and c.correct and {"b", "c"} <= set(c.loads)
    ]
    ours = {
        c.spec.name: c
        for c in contenders
        if c.spec.name.startswith("simserve") and {"b", "c"} <= set(c.loads)
    }
    if not any(c.spec.name.startswith("infinity") for c in contenders):
        return ["Targets against infinity-emb: not evaluated (no infinity-emb peer raced)."]
    if not peers or not ours:
        return ["Targets: not evaluated (a contender did not run; see above)."]
    out = [f"Targets ({targets.issue}) against infinity-emb's best correct configuration per load:"]
    for key in ("b", "c"):
        best = max(peers, key=lambda c: c.loads[key].sentences_per_s)
        ref = best.loads[key]
        for name, ours_c in ours.items():
            r = ours_c.loads[key]
            ratio = r.sentences_per_s / ref.sentences_per_s if ref.sentences_per_s else float("nan")
            line = (
                f"- ({key}) {name}: {ratio:.2f}x {best.spec.name} ({r.sentences_per_s:.0f} vs "
                f"{ref.sentences_per_s:.0f}/s), p99 {r.p99_ms:.0f} vs {ref.p99_ms:.0f} ms; "
            )
            goal = targets.goals.get(ours_c.spec.precision)
            if goal is None:
                out.append(line + f"no {ours_c.spec.precision} target")
                continue
            p99_rule = ours_c.spec.precision in targets.lower_p99
            met = ratio >= goal and (not p99_rule or r.p99_ms < ref.p99_ms)
            out.append(
                line + f"target {goal}x{' at lower p99' if p99_rule else ''}: "
                f"{'met' if met else 'MISSED'}"
            )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="measured per load and round")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (median)")
    parser.add_argument("--offline-sentences", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--models-dir", type=Path, default=ROOT / "var" / "models")
    parser.add_argument("--infinity-venv", type=Path, default=Path("/work/venvs/infinity"))
    parser.add_argument(
        "--peers",
        default="infinity-optimum,infinity-torch",
        help="comma list of infinity-optimum, infinity-torch, fastapi-st; none = simserve only",
    )
    parser.add_argument(
        "--model",
        choices=("minilm", "bert-base"),
        default="minilm",
        help="minilm: the packaged all-MiniLM-L6-v2; bert-base: a random 12 x 768 Chinese "
        "encoder (benchmarks/race_bert_base.py) on Chinese STS-B dev sentences",
    )
    parser.add_argument(
        "--variant-of",
        default="fp32,int8",
        help="comma list of the simserve rows (fp32, int8, int8s) each --variant repeats",
    )
    parser.add_argument("--loads", default="a,b,c", help="comma list of the loads to run (a, b, c)")
    parser.add_argument(
        "--no-offline", action="store_true", help="skip sentence-transformers' offline encode"
    )
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="SUFFIX:ENV=VALUE[,ENV=VALUE]",
        help="also race simserve-fp32/int8 with these settings, named simserve-<prec>-SUFFIX "
        "(e.g. spin:SIMSERVE_MODELS__ALLOW_SPINNING=true); repeatable",
    )
    parser.add_argument("--work-dir", type=Path, default=ROOT / "var" / "race")
    parser.add_argument("--no-write", action="store_true", help="print only, leave BENCHMARKS.md")
    parser.add_argument(
        "--section",
        default="race",
        help="BENCHMARKS.md section to write (another key keeps the main race table)",
    )
    parser.add_argument("--note", default="", help="a sentence about this run for the report")
    args = parser.parse_args(argv)
    args.load_start = os.getloadavg()[0]
    keys = [k for k in args.loads.split(",") if k]
    unknown = set(keys) - {load.key for load in LOADS}
    if unknown:
        parser.error(f"unknown loads {sorted(unknown)}; valid: a, b, c")
    loads = [load for load in LOADS if load.key in keys]

    race = (
        bert_base_race(args.work_dir, DATA / "stsb-zh")
        if args.model == "bert-base"
        else minilm_race(args.models_dir, args.work_dir, DATA / "stsb-en")
    )
    st_dir, sentences, missing = race.st_dir, race.sentences, race.missing
    check_texts = sentences[:64]
    offline = None
    if not args.no_offline:
        print("sentence-transformers offline ...", flush=True)
        offline = st_offline(st_dir, sentences[: args.offline_sentences], args.threads)
        print(f"   {offline}", flush=True)
    reference = st_vectors(st_dir, check_texts)

    served = [x for x in race.served if x.model not in missing]
    specs = [
        servers.simserve(
            f"simserve-{x.suffix}",
            x.model,
            sys.executable,
            race.models_dirs,
            args.threads,
            precision=x.precision,
        )
        for x in served
    ]
    for variant in args.variant:
        suffix, _, assignments = variant.partition(":")
        # split on commas that start a new NAME=, so values may hold commas (JSON lists)
        extra = dict(a.split("=", 1) for a in re.split(r",(?=\w+=)", assignments) if a)
        for x in served:
            if x.suffix in args.variant_of.split(","):
                specs.append(
                    servers.simserve(
                        f"simserve-{x.suffix}-{suffix}",
                        x.model,
                        sys.executable,
                        race.models_dirs,
                        args.threads,
                        extra,
                        precision=x.precision,
                    )
                )
    peers = [p for p in args.peers.split(",") if p and p != "none"]
    infinity_ok = (args.infinity_venv / "bin" / "infinity_emb").exists()
    for peer in peers:
        if peer.startswith("infinity-") and infinity_ok:
            engine = peer.removeprefix("infinity-")
            folder = infinity_folder(st_dir, args.work_dir) if engine == "optimum" else st_dir
            specs.append(servers.infinity(engine, args.infinity_venv, folder, served_name=race.key))
        elif peer == "fastapi-st" or (peer.startswith("infinity-") and not infinity_ok):
            if not any(s.name == "fastapi-st" for s in specs):
                specs.append(servers.st_server(sys.executable, st_dir))
    contenders = race_all(
        specs,
        reference,
        check_texts,
        sentences,
        args.seconds,
        args.rounds,
        args.work_dir / "logs",
        loads,
        # infinity times batches of up to 512 tokens before it answers /health: minutes at
        # BERT-base size on 2 cores
        ready_timeout_s=1200.0 if args.model == "bert-base" else 300.0,
    )
    body = report(contenders, offline, args, len(sentences), loads, race)
    if args.note:
        body += f"\n\nNote: {args.note}"
    if missing:
        body += "\n\nNot raced (export failed): " + "; ".join(
            f"`{k}`: {v}" for k, v in missing.items()
        )
    print(body)
    if not args.no_write:
        write_section(
            args.section,
            "Race: simserve vs infinity-emb (issue 6)"
            if args.section == "race"
            else f"Race ({args.section})",
            body,
            "flock /tmp/simserve-heavy.lock python -m benchmarks.race "
            + shlex.join(argv or sys.argv[1:]),
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
