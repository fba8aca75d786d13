"""Chinese similar-question generation quality (issue 11 item 4, Chinese half).

    python -m benchmarks.bench_paraphrase_zh [--generator zh-simbert] [--sources 20]

Sources: the first short questions (ending in ？ or ?, at most 20 characters) of the LCQMC
dev part (models/bilingual/data.py; the generator trained on the train parts only). One real
uvicorn server serves the generator and the reference encoder `zh-minilm`; each source gets
one `/paraphrase` call without a `model` (so the by-script default is exercised; the answer
must name the generator), n=32, k=5, seed = source index. Reported: cosine to the source by
`zh-minilm`; share of character bigrams (two ideographs) seen in the generator's training
text (the target's measure), and seen in it or in the source (a dev question's own rare
bigrams, names mostly, are not made up when copied); distinct-2 over character bigrams;
share identical to the source; sources with >= 3 paraphrases; p50 call time; ten examples
verbatim.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from pathlib import Path

import httpx
import numpy as np

from benchmarks.report import table, write_section
from models.bilingual.data import CHINESE_TASKS, Part, task_by_name
from tests.live_server import LiveServer

REPO = Path(__file__).resolve().parents[1]
IDEOGRAPHS = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]{2,}")


def char_bigrams(text: str) -> list[str]:
    """Bigrams of adjacent ideographs in `text` (runs of ideographs only)."""
    return [run[i : i + 2] for run in IDEOGRAPHS.findall(text) for i in range(len(run) - 1)]


def seen_bigrams(root: Path) -> set[str]:
    seen: set[str] = set()
    for task in CHINESE_TASKS:
        pairs = task.load(root, Part.TRAIN)
        for text in pairs.first + pairs.second:
            seen.update(char_bigrams(text))
    return seen


def questions(root: Path, count: int) -> list[str]:
    pairs = task_by_name("lcqmc").load(root, Part.DEV)
    found = [t for t in dict.fromkeys(pairs.first) if t[-1:] in "？?" and len(t) <= 20]
    return found[:count]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--dirs", nargs="+", type=Path, default=[REPO / "models" / "zoo"])
    parser.add_argument("--generator", default="zh-simbert")
    parser.add_argument("--reference", default="zh-minilm")
    parser.add_argument("--sources", type=int, default=20)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    sources = questions(args.data, args.sources)
    seen = seen_bigrams(args.data)
    serve = f'["{args.generator}", "{args.reference}", "minilm-simbert"]'
    env = {"SIMSERVE_MODELS__SERVE": serve, "SIMSERVE_MODELS__DEFAULT": args.reference}
    rows, times, cosines, bigram_ok, bigram_all, identical, enough = [], [], [], 0, 0, 0, 0
    bigram_ok_or_source = 0
    all_bigrams: list[str] = []
    with (
        LiveServer(args.dirs, env=env) as server,
        httpx.Client(base_url=server.url, timeout=120) as http,
    ):
        for i, source in enumerate(sources):
            started = time.perf_counter()
            r = http.post("/paraphrase", json={"text": source, "n": 32, "k": 5, "seed": i})
            times.append(time.perf_counter() - started)
            r.raise_for_status()
            body = r.json()
            if body["model"] != args.generator:
                raise SystemExit(f"{source!r} went to {body['model']}, not {args.generator}")
            texts = [p["text"] for p in body["paraphrases"]]
            enough += len(texts) >= 3
            identical += sum(t == source for t in texts)
            vectors = http.post("/embed", json={"texts": [source, *texts], "model": args.reference})
            v = np.asarray(vectors.json()["embeddings"])
            cosines += list(v[1:] @ v[0]) if texts else []
            own = set(char_bigrams(source))
            for t in texts:
                grams = char_bigrams(t)
                bigram_ok_or_source += sum(g in seen or g in own for g in grams)
                bigram_all += len(grams)
                bigram_ok += sum(g in seen for g in grams)
                all_bigrams += grams
            if len(rows) < 10:
                rows.append([source, " / ".join(texts[:3]) or "(none)"])
    n_para = len(cosines)
    figures = [
        ["sources", len(sources), ""],
        ["paraphrases returned", n_para, ""],
        [f"cosine to source ({args.reference})", f"{np.mean(cosines):.3f}", ">= 0.80"],
        [
            "character bigrams seen in training text",
            f"{bigram_ok / max(bigram_all, 1):.3f}",
            ">= 0.98",
        ],
        [
            "character bigrams seen in training text or the source",
            f"{bigram_ok_or_source / max(bigram_all, 1):.3f}",
            "",
        ],
        [
            "distinct-2 (character bigrams)",
            f"{len(set(all_bigrams)) / max(len(all_bigrams), 1):.3f}",
            "",
        ],
        ["identical to the source", identical, "0"],
        ["sources with >= 3 paraphrases", f"{enough}/{len(sources)}", ">= 18/20"],
        ["/paraphrase p50 (n=32, k=5)", f"{statistics.median(times):.3f} s", "<= 0.5 s"],
    ]
    body = table(["figure", "value", "target"], figures)
    body += "\n\nTen examples (source -> first three paraphrases):\n\n" + table(
        ["source", "paraphrases"], rows
    )
    print(body)
    if not args.no_write:
        shown = sys.argv[1:] if argv is None else argv
        command = "python -m benchmarks.bench_paraphrase_zh " + " ".join(shown)
        write_section("paraphrase-zh", "Chinese similar questions (zh-simbert)", body, command)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
