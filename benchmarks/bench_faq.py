"""FAQ matching and duplicate detection on labelled pairs (issue 15).

    python -m benchmarks.bench_faq [--limit 1000] [--dup-limit 800] [--zh-model zh-minilm]

Served in-process (`TestClient(create_app(...))`, real onnxruntime with 1 intra-op thread,
real SQLite + FAISS flat, exact search) on ../shared/data (never committed):

- FAQ retrieval. Documents: the distinct first sentences of a set's pairs (those of label-0
  pairs are distractors); queries: the second sentences of label-1 pairs, whose answer is
  their first sentence. recall@1/5 of /search modes dense, lexical (BM25 over words, jieba
  for Chinese) and hybrid (reciprocal-rank fusion). English: MSRP dev; Chinese: LCQMC and BQ
  dev files, only their 20% hash "dev part" (`models.bilingual.data.hash_split(.., DEV)`),
  which the bilingual model did not train on.
- Duplicate classification: is a pair a paraphrase (label 1) by `cosine >= threshold`?
  Accuracy and F1 on an evaluation split of the threshold fitted on another split
  (`app.index.calibration.fit`, what `fit-threshold` and PUT .../calibration run), of a
  fixed 0.5, and of the oracle (the best threshold on the evaluation split itself). MSRP:
  fit on train (subsampled to --dup-limit), evaluate on dev. LCQMC, BQ: the dev part split in
  two halves by a seeded permutation. ATEC: its dev file halved likewise (its train file
  trained the bilingual model).
- /match vs /search latency: p50 over the English FAQ queries, one request each, same
  settings (dense, top_k 4 = 1 + 3 alternatives).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient

from app.api.app import create_app
from app.engines.manifest import read_manifest
from app.index.calibration import best_threshold, fit, model_fingerprint
from app.settings import Settings
from benchmarks.report import table, write_section
from models.bilingual.data import Part, hash_split, subsample
from models.training.pairs import Pairs, read_pairs

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
SECTION = "faq-matching"
TITLE = "FAQ matching: dense vs lexical vs hybrid recall, fitted vs fixed vs oracle thresholds"
MODES = ("dense", "lexical", "hybrid")


def faq_set(pairs: Pairs) -> tuple[list[str], list[tuple[str, int]]]:
    """Documents (distinct first sentences) and (query, index of its answer document)."""
    docs = list(dict.fromkeys(a.strip() for a in pairs.first))
    where = {d: i for i, d in enumerate(docs)}
    queries = [
        (b.strip(), where[a.strip()])
        for a, b, s in zip(pairs.first, pairs.second, pairs.scores, strict=True)
        if s == 1 and b.strip() and b.strip() != a.strip()
    ]
    return docs, queries


def recall(api: TestClient, name: str, queries, mode: str) -> tuple[float, float]:
    """recall@1 and recall@5 (%) of /search in `mode`, 64 queries a request."""
    at1 = at5 = 0
    for start in range(0, len(queries), 64):
        chunk = queries[start : start + 64]
        body = {"collection": name, "queries": [q for q, _ in chunk], "top_k": 5, "mode": mode}
        r = api.post("/search", json=body)
        r.raise_for_status()
        for (_, gold), result in zip(chunk, r.json()["results"], strict=True):
            ids = [int(h["id"]) for h in result["hits"]]
            at1 += bool(ids) and ids[0] == gold
            at5 += gold in ids
    return 100 * at1 / len(queries), 100 * at5 / len(queries)


def build(api: TestClient, name: str, model: str, docs: list[str]) -> None:
    r = api.put(f"/collections/{name}", json={"model": model, "index": {"kind": "flat"}})
    r.raise_for_status()
    for start in range(0, len(docs), 256):
        batch = [{"id": str(i), "text": docs[i]} for i in range(start, min(start + 256, len(docs)))]
        api.post(f"/collections/{name}/documents", json={"documents": batch}).raise_for_status()


def embed(api: TestClient, model: str, texts: list[str]) -> np.ndarray:
    out = []
    for start in range(0, len(texts), 64):
        r = api.post("/embed", json={"texts": texts[start : start + 64], "model": model})
        r.raise_for_status()
        out.append(np.asarray(r.json()["embeddings"], dtype=np.float32))
    return np.concatenate(out)


def cosines(api: TestClient, model: str, pairs: Pairs) -> np.ndarray:
    vectors = embed(api, model, list(pairs.first) + list(pairs.second))
    n = len(pairs)
    return np.sum(vectors[:n] * vectors[n:], axis=1).astype(np.float64)


def scores_at(threshold: float, cos: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Accuracy and F1 (%) of `cos >= threshold` against labels."""
    pred = cos >= threshold
    truth = labels == 1
    tp = np.sum(pred & truth)
    f1 = 2 * tp / max(pred.sum() + truth.sum(), 1)
    return 100 * float(np.mean(pred == truth)), 100 * float(f1)


def halves(pairs: Pairs, seed: int) -> tuple[Pairs, Pairs]:
    order = np.random.default_rng(seed).permutation(len(pairs))
    cut = len(pairs) // 2

    def take(index):
        index = np.sort(index)
        return Pairs(
            [pairs.first[i] for i in index], [pairs.second[i] for i in index], pairs.scores[index]
        )

    return take(order[:cut]), take(order[cut:])


def p50_ms(api: TestClient, path: str, bodies: list[dict]) -> float:
    times = []
    for body in bodies:
        started = time.perf_counter()
        api.post(path, json=body).raise_for_status()
        times.append((time.perf_counter() - started) * 1000)
    return float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=1000, help="pairs per FAQ set at most")
    parser.add_argument(
        "--dup-limit", type=int, default=800, help="pairs per duplicate fit/eval split at most"
    )
    parser.add_argument("--en-model", default="minilm")
    parser.add_argument("--zh-model", default="zh-minilm", help="minilm when not found")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dry-run", action="store_true", help="print, leave BENCHMARKS.md")
    args = parser.parse_args()

    zoo = [REPO / "var" / "models", REPO / "models" / "zoo"]
    zh_model = args.zh_model if any((d / args.zh_model).is_dir() for d in zoo) else "minilm"
    settings = Settings(
        models={"dirs": zoo, "serve": sorted({args.en_model, zh_model}), "intra_op_threads": 1,
                "default": args.en_model},
        collections={"data_dir": tempfile.mkdtemp(prefix="bench-faq-")},
    )  # fmt: skip
    lim, dup = args.limit, args.dup_limit
    faq_sets = {
        "MSRP dev (en)": (args.en_model, read_pairs(DATA / "msrp" / "dev.tsv")),
        "LCQMC dev part (zh)": (zh_model, hash_split(read_pairs(DATA / "lcqmc" / "dev.tsv"), Part.DEV)),
        "BQ dev part (zh)": (zh_model, hash_split(read_pairs(DATA / "bq" / "dev.tsv"), Part.DEV)),
    }  # fmt: skip
    rows, dup_rows, notes = [], [], []
    with TestClient(create_app(settings)) as api:
        for i, (label, (model, pairs)) in enumerate(faq_sets.items()):
            docs, queries = faq_set(subsample(pairs, lim, args.seed))
            build(api, f"faq{i}", model, docs)
            figures = {m: recall(api, f"faq{i}", queries, m) for m in MODES}
            rows.append([label, model, len(docs), len(queries)]
                        + [figures[m][0] for m in MODES] + [figures[m][1] for m in MODES])  # fmt: skip
            print(rows[-1], flush=True)

        _, en_queries = faq_set(faq_sets["MSRP dev (en)"][1])
        api.put("/collections/faq0/calibration",
                json={"scores": [0.9] * 10 + [0.1] * 10, "labels": [1] * 10 + [0] * 10})  # fmt: skip
        search_bodies = [{"collection": "faq0", "query": q, "top_k": 4} for q, _ in en_queries]
        match_bodies = [
            {"collection": "faq0", "query": q, "alternatives": 3} for q, _ in en_queries
        ]
        p50_ms(api, "/search", search_bodies[:20])  # warm both paths
        p50_ms(api, "/match", match_bodies[:20])
        search_p50 = p50_ms(api, "/search", search_bodies)
        match_p50 = p50_ms(api, "/match", match_bodies)

        dup_sets = {
            "MSRP": (args.en_model, subsample(read_pairs(DATA / "msrp" / "train.tsv"), dup, args.seed),
                     read_pairs(DATA / "msrp" / "dev.tsv"), "train -> dev"),
        }  # fmt: skip
        for task in ("lcqmc", "bq"):
            part = hash_split(read_pairs(DATA / task / "dev.tsv"), Part.DEV)
            a, b = halves(subsample(part, 2 * dup, args.seed), args.seed)
            dup_sets[task.upper()] = (zh_model, a, b, "dev part: half A -> half B")
        atec = subsample(read_pairs(DATA / "atec" / "dev.tsv"), 2 * dup, args.seed)
        a, b = halves(atec, args.seed)
        dup_sets["ATEC"] = (zh_model, a, b, "dev: half A -> half B")
        for task, (model, fit_pairs, eval_pairs, how) in dup_sets.items():
            fit_cos = cosines(api, model, fit_pairs)
            eval_cos = cosines(api, model, eval_pairs)
            labels = eval_pairs.scores.astype(int)
            cal = fit(fit_cos, fit_pairs.scores.astype(int), model=model, fingerprint="bench")
            oracle, _ = best_threshold(eval_cos, labels)
            fitted_acc, fitted_f1 = scores_at(cal.threshold, eval_cos, labels)
            fixed_acc, fixed_f1 = scores_at(0.5, eval_cos, labels)
            oracle_acc, oracle_f1 = scores_at(oracle, eval_cos, labels)
            dup_rows.append([
                task, model, how, f"{len(fit_pairs)} / {len(eval_pairs)}",
                f"{cal.threshold:.3f}", fitted_acc, fitted_f1, fixed_acc, fixed_f1,
                f"{oracle:.3f}", oracle_acc, oracle_f1, f"{oracle_acc - fitted_acc:.1f}",
            ])  # fmt: skip
            print(dup_rows[-1], flush=True)

    for name in sorted({args.en_model, zh_model}):
        folder = next(d / name for d in zoo if (d / name / "manifest.json").exists())
        manifest = read_manifest(folder)
        quant = manifest.onnx.quantization or "fp32"
        notes.append(f"`{name}`: {folder.relative_to(REPO)}, {quant}, fingerprint "
                     f"{model_fingerprint(manifest.files)}.")  # fmt: skip
    if zh_model != args.zh_model:
        notes.append(f"`{args.zh_model}` was not found when this ran, so the Chinese sets use "
                     f"`{zh_model}` (an English model: its Chinese figures are a floor).")  # fmt: skip
    body = "\n\n".join([
        "FAQ retrieval (recall %, exact flat index; documents include the distractors):",
        table(["set", "model", "documents", "queries", "dense R@1", "lexical R@1", "hybrid R@1",
               "dense R@5", "lexical R@5", "hybrid R@5"], rows),
        "Duplicate classification (`cosine >= threshold`, % on the evaluation split):",
        table(["task", "model", "fit -> evaluate", "pairs fit / eval", "fitted t", "fitted acc",
               "fitted F1", "0.5 acc", "0.5 F1", "oracle t", "oracle acc", "oracle F1",
               "oracle - fitted acc"], dup_rows),
        f"/match vs /search (MSRP FAQ, {len(en_queries)} queries, one request each, dense, "
        f"4 hits): p50 {match_p50:.2f} ms vs {search_p50:.2f} ms "
        f"({100 * (match_p50 / search_p50 - 1):+.1f}%).",
        *notes,
    ])  # fmt: skip
    print(body)
    if not args.dry_run:
        write_section(
            SECTION, TITLE, body, f"python -m benchmarks.bench_faq --limit {lim} --dup-limit {dup}"
        )


if __name__ == "__main__":
    main()
