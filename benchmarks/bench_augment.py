"""FAQ augmentation: does indexing generated paraphrases as aliases raise recall@1? (issue 4.6)

    python -m benchmarks.bench_augment [--task msrp|lcqmc|bq] [--k 5] [--n 32] [--limit 0]

Data: `--task msrp` (default): ../shared/data/msrp/dev.tsv, encoder `minilm`, generator
`minilm-simbert`. `--task lcqmc` / `bq` (Chinese, issue 11 item 4): the dev part of the
hash split (models/bilingual/data.py; the Chinese encoder and generator trained on the
train part only), encoder `zh-minilm`, generator `zh-simbert`. Every distinct sentence1 is
a document (the label-0 ones are distractors); every label-1 pair's sentence2 is a query
whose answer is its sentence1. Two collections over real HTTP on the encoder (flat index,
exact search): plain, and augmented (`augment: {model: GENERATOR, k, n, seed}` on upsert,
8 documents per request, the per-request bound). A third collection keeps only the
generated aliases whose cosine to their document by the encoder is at least --keep-cosine
(given as explicit aliases), to separate "more phrasings" from "bad phrasings". Reports
recall@1, recall@5 and MRR@10 of each, the share of top-1 hits that came through an alias,
and the alias counts.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np

from benchmarks.report import table, write_section
from models.bilingual.data import Part, task_by_name
from models.corpus import read_pairs
from tests.live_server import LiveServer

REPO = Path(__file__).resolve().parents[1]
DATA_ROOT = REPO.parent / "shared" / "data"
TITLE = "FAQ augmentation: recall of a question's paraphrase with and without generated aliases"


@dataclass(frozen=True)
class FaqTask:
    name: str
    encoder: str
    generator: str
    data: str  # what the report says the documents and queries are


FAQ_TASKS = {
    "msrp": FaqTask("msrp", "minilm", "minilm-simbert", "`msrp/dev.tsv`"),
    "lcqmc": FaqTask("lcqmc", "zh-minilm", "zh-simbert", "LCQMC dev part (hash split)"),
    "bq": FaqTask("bq", "zh-minilm", "zh-simbert", "BQ dev part (hash split)"),
}


def read_rows(task: FaqTask, root: Path) -> list[tuple[str, str, float]]:
    """(sentence1, sentence2, score) of the task's evaluation pairs."""
    if task.name == "msrp":
        pairs = read_pairs(root / "msrp" / "dev.tsv")
    else:
        pairs = task_by_name(task.name).load(root, Part.DEV)
    return list(zip(pairs.first, pairs.second, map(float, pairs.scores), strict=True))


def read_task(
    rows: list[tuple[str, str, float]], limit: int
) -> tuple[list[str], list[tuple[str, int]]]:
    """Documents (distinct sentence1) and (query, index of its document) for label-1 pairs."""
    docs = list(dict.fromkeys(a.strip() for a, _, _ in rows))
    if limit:
        docs = docs[:limit]
    where = {d: i for i, d in enumerate(docs)}
    queries = [
        (b.strip(), where[a.strip()]) for a, b, score in rows if score == 1 and a.strip() in where
    ]
    return docs, queries


def fill(
    http: httpx.Client,
    name: str,
    encoder: str,
    docs: list[str],
    augment: dict | None = None,
    aliases: list[list[str]] | None = None,
) -> float:
    r = http.put(f"/collections/{name}", json={"model": encoder, "index": {"kind": "flat"}})
    r.raise_for_status()
    started, step = time.perf_counter(), 8
    for start in range(0, len(docs), step):
        body: dict = {"documents": [
            {"id": str(start + i), "text": t, "aliases": aliases[start + i] if aliases else []}
            for i, t in enumerate(docs[start : start + step])
        ]}  # fmt: skip
        if augment:
            body["augment"] = {**augment, "seed": augment["seed"] + start}
        r = http.post(f"/collections/{name}/documents", json=body)
        r.raise_for_status()
        print(f"\r{name}: {min(start + step, len(docs))}/{len(docs)} documents", end="", flush=True)
    print()
    return time.perf_counter() - started


def close_aliases(
    http: httpx.Client, encoder: str, docs: list[str], aliases: list[list[str]], keep: float
) -> list[list[str]]:
    """The aliases whose cosine to their document by the served encoder is >= keep."""
    out = []
    for doc, group in zip(docs, aliases, strict=True):
        if not group:
            out.append([])
            continue
        r = http.post("/embed", json={"texts": [doc, *group], "model": encoder})
        r.raise_for_status()
        vectors = np.asarray(r.json()["embeddings"])
        scores = vectors[1:] @ vectors[0]
        out.append([a for a, c in zip(group, scores, strict=True) if c >= keep])
    return out


def evaluate(http: httpx.Client, name: str, queries: list[tuple[str, int]]) -> dict:
    ranks, via_alias = [], []
    for start in range(0, len(queries), 64):
        chunk = queries[start : start + 64]
        r = http.post(
            "/search", json={"collection": name, "queries": [q for q, _ in chunk], "top_k": 10}
        )
        r.raise_for_status()
        for (_, answer), res in zip(chunk, r.json()["results"], strict=True):
            ids = [int(h["id"]) for h in res["hits"]]
            ranks.append(ids.index(answer) + 1 if answer in ids else 0)
            via_alias.append(bool(res["hits"]) and res["hits"][0]["matched_alias"] is not None)
    ranks_a = np.array(ranks)
    return {
        "r1": float(np.mean(ranks_a == 1)),
        "r5": float(np.mean((ranks_a >= 1) & (ranks_a <= 5))),
        "mrr": float(np.mean([1 / r if r else 0.0 for r in ranks])),
        "alias_top1": float(np.mean(via_alias)),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--models-dirs", nargs="+", default=["var/models", "models/zoo"])
    p.add_argument("--task", choices=sorted(FAQ_TASKS), default="msrp")
    p.add_argument("--data", type=Path, default=DATA_ROOT, help="the shared data root")
    p.add_argument("--generator", default=None, help="default: the task's generator")
    p.add_argument("--k", type=int, default=5, help="aliases per document")
    p.add_argument("--n", type=int, default=32, help="candidates sampled per document")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--keep-cosine", type=float, default=0.7, help="third collection's filter")
    p.add_argument("--limit", type=int, default=0, help="first N documents only (0 = all)")
    p.add_argument("--no-write", action="store_true")
    args = p.parse_args()
    task = FAQ_TASKS[args.task]
    args.generator = args.generator or task.generator
    encoder = task.encoder
    docs, queries = read_task(read_rows(task, args.data), args.limit)
    env = {
        "SIMSERVE_MODELS__SERVE": f'["{encoder}", "{args.generator}"]',
        "SIMSERVE_MODELS__DEFAULT": encoder,
        "SIMSERVE_LIFECYCLE__REQUEST_DEADLINE_S": "120",
        "SIMSERVE_GENERATION__TIMEOUT_S": "120",
    }
    augment = {"model": args.generator, "k": args.k, "n": args.n, "seed": args.seed}
    with (
        LiveServer([Path(d) for d in args.models_dirs], env=env) as server,
        httpx.Client(base_url=server.url, timeout=600) as http,
    ):
        plain_s = fill(http, "plain", encoder, docs)
        aug_s = fill(http, "augmented", encoder, docs, augment)
        generated = [
            http.get(f"/collections/augmented/documents/{i}").json()["aliases"]
            for i in range(len(docs))
        ]
        kept = close_aliases(http, encoder, docs, generated, args.keep_cosine)
        fill(http, "filtered", encoder, docs, aliases=kept)
        scores = {c: evaluate(http, c, queries) for c in ("plain", "augmented", "filtered")}
    counts = {"plain": 0, "augmented": sum(map(len, generated)), "filtered": sum(map(len, kept))}
    labels = {
        "plain": "plain",
        "augmented": f"augmented (k={args.k}, n={args.n})",
        "filtered": f"augmented, aliases with {encoder} cosine >= {args.keep_cosine} only",
    }
    rows = [
        [labels[c], f"{m['r1']:.3f}", f"{m['r5']:.3f}", f"{m['mrr']:.3f}",
         f"{m['alias_top1']:.1%}", f"{counts[c] / len(docs):.2f}"]
        for c, m in scores.items()
    ]  # fmt: skip
    plain, aug = scores["plain"], scores["augmented"]
    body = (
        f"Data: {task.data}: {len(docs)} documents (distinct sentence1), {len(queries)} "
        f"queries (sentence2 of the label-1 pairs). Encoder `{encoder}`, flat index (exact); "
        f"generator `{args.generator}`. Upsert time with augment: {aug_s:.0f} s for "
        f"{len(docs)} documents ({aug_s / len(docs):.2f} s each; plain: {plain_s:.0f} s).\n\n"
        + table(
            ["collection", "recall@1", "recall@5", "MRR@10", "top-1 via alias", "aliases/doc"],
            rows,
        )
        + f"\n\nrecall@1 change with augmentation: {aug['r1'] - plain['r1']:+.3f} "
        f"(filtered: {scores['filtered']['r1'] - plain['r1']:+.3f}).\n"
    )
    print(body)
    if not args.no_write:
        command = "python -m benchmarks.bench_augment " + " ".join(
            f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items()
            if k not in {"no_write", "models_dirs", "data"}
        )  # fmt: skip
        section = "faq-augmentation" if task.name == "msrp" else f"faq-augmentation-{task.name}"
        title = TITLE if task.name == "msrp" else f"{TITLE} ({task.name}, Chinese)"
        write_section(section, title, body, command)


if __name__ == "__main__":
    main()
