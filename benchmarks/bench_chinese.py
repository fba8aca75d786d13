"""Chinese STS tables (issue 10 items 3 and 4): served folders scored on the dev parts.

    .venv/bin/python -m benchmarks.bench_chinese --models minilm zh-untrained zh-minilm-fp32 \
        zh-minilm --raw var/runs/zh/extended --trained zh-minilm-fp32

Every model is scored through the served path (`app.engines.encoder.Encoder`: the same
tokenizer, ONNX graph and pooling as `/embed`): Spearman x100 of cosine vs gold on the dev
parts of ATEC, BQ, LCQMC and Chinese STS-B (models/bilingual/data.py: LCQMC and BQ are
the 20% hash part of their dev files; none of these pairs was trained on), their average,
and English STS-B dev. With --raw, the untrained extended encoder is exported with cls,
mean and first-last-avg pooling and scored without and with BERT-whitening (k = hidden,
256, 128) fitted on the sentences of the Chinese train parts (no labels, as in the
BERT-whitening post); --trained adds the same whitening rows for a trained model.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import numpy as np

from app.engines.encoder import EncodeRequest
from app.engines.manifest import PoolingMode
from app.engines.whitening import MomentAccumulator, apply_whitening, fit_whitening
from benchmarks.report import table, write_section
from benchmarks.sts_vectors import load_encoder
from models.bilingual.data import (
    CHINESE_TASKS,
    ENGLISH_TASKS,
    Part,
    Task,
    subsample,
    training_texts,
)
from models.encoding import encode_all
from models.eval_sts import sts_spearman, unique_sentences
from models.training.pairs import Pairs

TASK_ORDER = ("atec", "bq", "lcqmc", "stsb-zh")
TARGETS = {"atec": 48.0, "bq": 62.0, "lcqmc": 68.0, "stsb-zh": 70.0, "avg": 62.0, "stsb-en": 85.7}
FIT_SENTENCES = 10000
CACHE = Path("var/bench-chinese")
RAW_POOLINGS = (PoolingMode.CLS, PoolingMode.MEAN, PoolingMode.FIRST_LAST_AVG)


class DevSet:
    """One dev part with its unique sentences encoded once."""

    def __init__(self, task: Task, pairs: Pairs):
        self.name = task.name
        self.sentences, self.left, self.right = unique_sentences(pairs)
        self.scores = pairs.scores


def dev_sets(root: Path) -> list[DevSet]:
    return [DevSet(t, t.load(root, Part.DEV)) for t in (*CHINESE_TASKS, *ENGLISH_TASKS)]


def vectors_for(encoder, sets: list[DevSet]) -> dict[str, np.ndarray]:
    return {s.name: encode_all(encoder, s.sentences, 64, desc=s.name) for s in sets}


def scores_row(vectors: dict[str, np.ndarray], sets: list[DevSet], transform=None) -> list[float]:
    """[atec, bq, lcqmc, stsb-zh, avg, stsb-en] Spearman x100 (whitened when transform)."""
    result = {}
    for s in sets:
        v = vectors[s.name] if transform is None else apply_whitening(vectors[s.name], transform)
        result[s.name] = sts_spearman(v, s.left, s.right, s.scores)
    chinese = [result[n] for n in TASK_ORDER]
    return [*chinese, float(np.mean(chinese)), result["stsb-en"]]


def whitening_rows(encoder, label: str, sets, fit_texts: list[str], ks) -> list[list]:
    vectors = vectors_for(encoder, sets)
    acc = MomentAccumulator(encoder.manifest.hidden_size)
    acc.update(encode_all(encoder, fit_texts, 64, desc="whitening fit").astype(np.float64))
    rows = [[label, "none", *scores_row(vectors, sets)]]
    for k in ks:
        transform = fit_whitening(acc, k=k if k != encoder.manifest.hidden_size else -1)
        rows.append([label, str(k), *scores_row(vectors, sets, transform)])
    return rows


def cached(models_dir: Path, name: str, kind: str, compute):
    """compute() once per (model folder content, kind): rows are kept in var/bench-chinese
    keyed by the sha256 of the folder's manifest (which holds every file's hash)."""
    digest = hashlib.sha256((models_dir / name / "manifest.json").read_bytes()).hexdigest()
    path = CACHE / f"{kind}-{name}.json"
    if path.exists():
        saved = json.loads(path.read_text(encoding="utf-8"))
        if saved["manifest_sha256"] == digest:
            return saved["rows"]
    rows = compute()
    CACHE.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"manifest_sha256": digest, "rows": rows}), encoding="utf-8")
    return rows


def raw_folders(raw: Path, models_dir: Path) -> list[tuple[str, str]]:
    """(label, model name) of the raw encoder under each pooling, exported when missing."""
    from models.export import export_model

    out = []
    for pooling in RAW_POOLINGS:
        name = f"zh-raw-{pooling.value}"
        if not (models_dir / name / "manifest.json").exists():
            export_model(raw, models_dir, name, pooling=pooling, normalize=True)
        out.append((f"raw, {pooling.value}", name))
    return out


def speed_rows(models_dir: Path, names: list[str], texts: list[str], rounds: int, threads: int):
    """Offline engine sentences/s per model: `rounds` interleaved passes over `texts` in
    length-sorted batches of 32 (the batcher's way), median and spread over the rounds."""
    import time

    encoders = {name: load_encoder(models_dir, name, threads) for name in names}
    items = {name: enc.tokenize(texts) for name, enc in encoders.items()}
    order = np.argsort([len(t) for t in texts], kind="stable")
    batches = [order[i : i + 32] for i in range(0, len(order), 32)]
    rates: dict[str, list[float]] = {name: [] for name in names}
    for _ in range(rounds):
        for name, encoder in encoders.items():
            start = time.perf_counter()
            for batch in batches:
                encoder.run([EncodeRequest(items[name][i]) for i in batch])
            rates[name].append(len(texts) / (time.perf_counter() - start))
    return [
        [name, float(np.median(r)), float(min(r)), float(max(r)), rounds]
        for name, r in rates.items()
    ]


def verdict(row: list[float]) -> str:
    keys = (*TASK_ORDER, "avg", "stsb-en")
    parts = [
        f"{k} {v:.1f} vs {TARGETS[k]:g}: {'met' if v >= TARGETS[k] else 'MISSED'}"
        for k, v in zip(keys, row, strict=True)
    ]
    return "; ".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="../shared/data")
    parser.add_argument("--models-dir", default="var/models")
    parser.add_argument("--models", nargs="*", default=[], help="LABEL=NAME or NAME")
    parser.add_argument("--raw", type=Path, help="the untrained extended folder (whitening table)")
    parser.add_argument(
        "--trained", nargs="*", default=[], help="trained models for whitening rows"
    )
    parser.add_argument("--ks", type=int, nargs="+", default=[384, 256, 128])
    parser.add_argument("--speed", nargs="*", default=[], help="models to time offline")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2, help="onnxruntime intra-op threads")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    root, models_dir = Path(args.data), Path(args.models_dir)
    sets = dev_sets(root)
    header = ["model", "ATEC", "BQ", "LCQMC", "STS-B zh", "avg zh", "STS-B en"]
    command = "python -m benchmarks.bench_chinese " + " ".join(argv or [])

    if args.models:
        rows, verdicts = [], []
        for spec in args.models:
            label, _, name = spec.rpartition("=")
            row = cached(
                models_dir,
                name,
                "sts",
                lambda name=name: scores_row(
                    vectors_for(load_encoder(models_dir, name, args.threads), sets), sets
                ),
            )
            rows.append([label or name, *row])
            verdicts.append(f"- {label or name}: {verdict(row)}")
            print(table(header, rows[-1:]), flush=True)
        body = table(header, rows) + "\n\nAgainst the issue 10 targets:\n" + "\n".join(verdicts)
        print(body)
        if not args.no_write:
            write_section("chinese-sts", "Chinese STS: dev parts, Spearman x100", body, command)

    if args.speed:
        texts = sets[-1].sentences[:500] + sets[2].sentences[:500]  # STS-B en + LCQMC dev
        rows = speed_rows(models_dir, args.speed, texts, args.rounds, args.threads)
        body = table(["model", "sentences/s (median)", "min", "max", "rounds"], rows)
        body += (
            f"\n\n{len(texts)} sentences (500 English STS-B dev, 500 LCQMC dev), batches of 32 "
            f"sorted by length, onnxruntime {args.threads} threads, models interleaved per round."
        )
        print(body)
        if not args.no_write:
            write_section("chinese-speed", "Bilingual vs minilm: engine speed", body, command)

    if args.raw or args.trained:
        fit = subsample_texts(training_texts(root, CHINESE_TASKS), FIT_SENTENCES)
        models = raw_folders(args.raw, models_dir) if args.raw else []
        models += [(name, name) for name in args.trained]
        rows = []
        for label, name in models:
            rows += cached(
                models_dir,
                name,
                "whitening-" + "-".join(map(str, args.ks)),
                lambda label=label, name=name: whitening_rows(
                    load_encoder(models_dir, name, args.threads), label, sets, fit, args.ks
                ),
            )
            print(table(["model", "whitening k", *header[1:]], rows), flush=True)
        body = table(["model", "whitening k", *header[1:]], rows)
        if not args.no_write:
            write_section(
                "chinese-whitening", "BERT-whitening on Chinese (dev parts)", body, command
            )
    return 0


def subsample_texts(texts: list[str], limit: int) -> list[str]:
    unique = list(dict.fromkeys(texts))
    pairs = Pairs(unique, unique, np.zeros(len(unique)))
    return subsample(pairs, limit, 0).first


if __name__ == "__main__":
    raise SystemExit(main())
