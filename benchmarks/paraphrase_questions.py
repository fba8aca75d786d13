"""English questions through /paraphrase with the decoding constraints off vs on (issue 11).

Sources: held-out STS-B dev sentences (both columns) that end in '?' and have at most
`MAX_QUESTION_WORDS` words, in file order; when there are fewer than asked for, the
shortest-first list is filled with short STS-B dev sentences (at most `MAX_FILL_WORDS`
words) and the report says how many of each. One call per source and setting (n=32, k=20,
model default sampling, seed = source index), the two settings called alternately.

Judges: cosine to the source by the `minilm` reference encoder (var/models/minilm, the
packaged all-MiniLM-L6-v2, served beside the generator; not the generator's own encoder);
share of words (letter runs with inner apostrophes, lower-cased) found in Debian's
`wamerican` list
(/usr/share/dict/american-english); distinct-2; paraphrases equal to the source after
lower-casing and dropping everything but letters and digits; words repeated twice in a
row; sources with at least 3 paraphrases; client-side p50 of the calls. The mask's cost
per decode step is timed in-process around `StepConstraints.mask` and `.advance`.
"""

from __future__ import annotations

import csv
import re
import statistics
import time
from pathlib import Path

import httpx
import numpy as np

DICT = Path("/usr/share/dict/american-english")
MAX_QUESTION_WORDS = 15
MAX_FILL_WORDS = 12
OFF = {"words": False, "no_repeat_ngram": 0, "no_repeat_word": False, "keep_question": False}
ON: dict = {}  # the defaults
SETTINGS = {"off": OFF, "on": ON}


def read_questions(path: Path, count: int) -> tuple[list[str], int]:
    """(sources, how many of them are questions): questions first, then short sentences."""
    with open(path, encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    texts = list(dict.fromkeys(r[c].strip() for r in rows for c in ("sentence1", "sentence2")))
    questions = [
        t for t in texts if t.endswith(("?", "\uff1f")) and len(t.split()) <= MAX_QUESTION_WORDS
    ][:count]
    fill = [
        t
        for t in texts
        if not t.endswith(("?", "\uff1f")) and 6 <= len(t.split()) <= MAX_FILL_WORDS
    ]
    return questions + fill[: count - len(questions)], len(questions)


def load_dictionary(path: Path = DICT) -> set[str] | None:
    """Lower-cased wamerican words, None when the list is not installed."""
    try:
        return {w.strip().lower() for w in path.read_text(encoding="utf-8").splitlines()}
    except OSError:
        return None


def letter_words(text: str) -> list[str]:
    """Lower-cased letter runs, with an apostrophe inside ("don't", "steele's")."""
    return re.findall(r"[a-z]+(?:'[a-z]+)?", text.lower())


def norm(text: str) -> str:
    return re.sub(r"[^0-9a-z]+", "", text.lower())


def repeats(text: str) -> int:
    """Words (letters/digits runs) equal to the word right before them."""
    words = re.findall(r"\w+", text.lower())
    return sum(a == b for a, b in zip(words, words[1:], strict=False))


def distinct_2(texts: list[str]) -> float:
    grams = [
        tuple(w[i : i + 2]) for w in (t.lower().split() for t in texts) for i in range(len(w) - 1)
    ]
    return len(set(grams)) / max(len(grams), 1)


def call_all(http: httpx.Client, model: str, sources: list[str]) -> dict[str, dict]:
    """Both settings for every source, alternately: paraphrase lists and call times."""
    out = {name: {"results": [], "times": []} for name in SETTINGS}
    for i, text in enumerate(sources):
        for name, constraints in SETTINGS.items():
            req = {"text": text, "model": model, "n": 32, "k": 20, "seed": i}
            t0 = time.perf_counter()
            r = http.post("/paraphrase", json={**req, "constraints": constraints})
            out[name]["times"].append(time.perf_counter() - t0)
            r.raise_for_status()
            out[name]["results"].append([p["text"] for p in r.json()["paraphrases"]])
        print(f"\r{i + 1}/{len(sources)} question sources", end="", flush=True)
    print()
    return out


def judge(
    http: httpx.Client, sources: list[str], results: list[list[str]], words: set[str] | None
) -> dict:
    cosines = []
    for text, paras in zip(sources, results, strict=True):
        if paras:
            r = http.post("/embed", json={"texts": [text, *paras], "model": "minilm"})
            r.raise_for_status()
            v = np.asarray(r.json()["embeddings"], dtype=np.float64)
            v /= np.linalg.norm(v, axis=1, keepdims=True)
            cosines.extend((v[1:] @ v[0]).tolist())
    flat = [p for paras in results for p in paras]
    tokens = [w for p in flat for w in letter_words(p)]
    own = [  # words not copied from the paraphrase's own source
        w
        for s, paras in zip(sources, results, strict=True)
        for p in paras
        for w in letter_words(p)
        if w not in set(letter_words(s))
    ]
    same = sum(norm(p) == norm(s) for s, paras in zip(sources, results, strict=True) for p in paras)
    return {
        "cosine": float(np.mean(cosines)) if cosines else float("nan"),
        "dictionary": (sum(w in words for w in tokens) / max(len(tokens), 1)) if words else None,
        "dictionary_new": (sum(w in words for w in own) / max(len(own), 1)) if words else None,
        "not_in_dictionary": sorted({w for w in tokens if words and w not in words}),
        "distinct_2": distinct_2(flat),
        "identical": same,
        "repeats": sum(repeats(p) for p in flat),
        "three_plus": sum(len(p) >= 3 for p in results),
        "per_source": len(flat) / len(sources),
        "question_share": (sum(p.endswith("?") for p in flat) / len(flat)) if flat else 0.0,
        "paraphrases": len(flat),
    }


def load_decoder(folder: Path):
    """(UniLMDecoder, TextTokenizer, GeneratorSpec) of a simbert folder, on the CPU."""
    from app.engines.manifest import read_manifest
    from app.engines.session import create_session
    from app.engines.tokenizer import TextTokenizer
    from app.generation.decoder import UniLMDecoder
    from app.generation.spec import GeneratorSpec

    manifest = read_manifest(folder)
    spec = GeneratorSpec.from_manifest(manifest.generator)
    tok = TextTokenizer.from_file(folder / manifest.tokenizer_file, spec.max_source_length)
    session = create_session(folder / spec.graph, "cpu")
    banned = [tok.token_to_id(t) for t in spec.banned_tokens]
    return UniLMDecoder(session, spec, tok.token_to_id(spec.end_token), banned), tok, spec


def mask_cost(folder: Path, sources: list[str]) -> dict:
    """In-process decodes (n=32, <= 32 new tokens, top-k 5, seed = index), off vs on: seconds
    per decode and, with the constraints on, seconds inside mask + advance per decode step."""
    from app.generation.constraints import DecodeConstraints, StepConstraints
    from app.generation.decoder import SamplingParams
    from app.services.decoding import step_constraints, word_rule

    decoder, tok, spec = load_decoder(folder)
    rule = word_rule(tok, folder / spec.words if spec.words else None)
    params = SamplingParams(n=32, max_new_tokens=32, top_k=spec.sampling.top_k)
    spent = {"mask": 0.0, "steps": 0}

    class Timed(StepConstraints):
        def mask(self, logits, rows):
            t0 = time.perf_counter()
            out = super().mask(logits, rows)
            spent["mask"] += time.perf_counter() - t0
            spent["steps"] += 1
            return out

        def advance(self, rows, tokens, end_id):
            t0 = time.perf_counter()
            super().advance(rows, tokens, end_id)
            spent["mask"] += time.perf_counter() - t0

    seconds: dict[str, list[float]] = {"off": [], "on": []}
    steps = {"off": 0, "on": 0}
    for i, text in enumerate(sources):
        prompt = tok.tokenize([text])[0].ids
        for name in ("off", "on"):
            built = None
            if name == "on":
                t0 = time.perf_counter()
                base = step_constraints(rule, tok, text, DecodeConstraints(), params.n)
                built = Timed(
                    params.n,
                    base.vocab,
                    base.trie,
                    base.ngram,
                    base.no_repeat_word,
                    base.contractions,
                )
                spent["mask"] += time.perf_counter() - t0  # source words into the trie
            t0 = time.perf_counter()
            gen = decoder.generate(prompt, params, np.random.default_rng(i), constraints=built)
            seconds[name].append(time.perf_counter() - t0)
            steps[name] += gen.steps + 1
    return {
        "median": {k: statistics.median(v) for k, v in seconds.items()},
        "per_step_ms": {k: 1000 * sum(seconds[k]) / steps[k] for k in seconds},
        "mask_ms_per_step": 1000 * spent["mask"] / max(spent["steps"], 1),
        "trie_nodes": rule.trie.nodes,
        "listed": rule.listed,
        "vocab": int(rule.vocab.continuation.size),
    }


def p50(times: list[float]) -> float:
    return statistics.median(times)


def fmt(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def run(
    models_dir: Path,
    model: str,
    reference_dir: Path,
    data: Path,
    count: int,
    write: bool,
    note: str = "",
) -> dict:
    """Measure, print, and (with `write`) write the `paraphrase-questions` section."""
    from benchmarks.report import table, write_section
    from tests.live_server import LiveServer

    sources, n_questions = read_questions(data, count)
    words = load_dictionary()
    cost = mask_cost(models_dir / model, sources)
    env = {
        "SIMSERVE_MODELS__SERVE": f'["{model}", "minilm"]',
        "SIMSERVE_MODELS__DEFAULT": model,
    }
    with (
        LiveServer([models_dir, reference_dir], env=env) as server,
        httpx.Client(base_url=server.url, timeout=120) as http,
    ):
        http.post("/paraphrase", json={"text": sources[0], "n": 4, "seed": 0}).raise_for_status()
        calls = call_all(http, model, sources)
        judged = {k: judge(http, sources, v["results"], words) for k, v in calls.items()}
    times = {k: p50(v["times"]) for k, v in calls.items()}
    for k, j in judged.items():
        print(
            f"{k}: cosine {j['cosine']:.3f} dictionary {fmt(j['dictionary'])} "
            f"distinct-2 {j['distinct_2']:.3f} identical {j['identical']} repeats {j['repeats']} "
            f">=3 {j['three_plus']}/{len(sources)} p50 {times[k]:.3f} s"
        )
    print(f"mask {cost['mask_ms_per_step']:.3f} ms/step; decode step {cost['per_step_ms']}")
    if not write:
        return {"judged": judged, "times": times, "cost": cost}
    on, off = judged["on"], judged["off"]
    n = len(sources)
    dict_target = "n/a" if on["dictionary"] is None else on["dictionary"] >= 0.99
    rows = [
        ["mean cosine to source (minilm reference)", fmt(off["cosine"]), fmt(on["cosine"]),
         ">= 0.80", on["cosine"] >= 0.80],
        ["share of dictionary words (wamerican)", fmt(off["dictionary"]), fmt(on["dictionary"]),
         ">= 0.99", dict_target],
        ["same, not counting words copied from the source", fmt(off["dictionary_new"]),
         fmt(on["dictionary_new"]), "", ""],
        ["distinct-2", fmt(off["distinct_2"]), fmt(on["distinct_2"]), "", ""],
        ["paraphrases identical to the source", off["identical"], on["identical"], "0",
         on["identical"] == 0],
        ["words repeated twice in a row", off["repeats"], on["repeats"], "0", on["repeats"] == 0],
        [f"sources with >= 3 paraphrases (of {n})", off["three_plus"], on["three_plus"],
         f">= {n - 2}", on["three_plus"] >= n - 2],
        ["paraphrases per source (k = 20 max)", fmt(off["per_source"], 1),
         fmt(on["per_source"], 1), "", ""],
        ["share ending in '?'", fmt(off["question_share"]), fmt(on["question_share"]), "", ""],
        ["/paraphrase n=32 p50 (s, client side)", fmt(times["off"]), fmt(times["on"]), "<= 0.5",
         times["on"] <= 0.5],
    ]  # fmt: skip
    examples = []
    for i, text in enumerate(sources[:10]):
        shown = {
            k: "<br>".join(p.replace("|", "\\|") for p in calls[k]["results"][i][:3]) or "(none)"
            for k in ("off", "on")
        }
        examples.append([text.replace("|", "\\|"), shown["off"], shown["on"]])
    oov = ", ".join(on["not_in_dictionary"][:30]) or "(none)"
    body = "\n\n".join(
        [
            f"Model `{model}` from `{models_dir}`, reference encoder `minilm` from "
            f"`{reference_dir}`, both served by one `python -m app` on loopback. Sources: "
            f"{n} held-out sentences of `{data.parent.name}/{data.name}` (both columns): the "
            f"{n_questions} questions (ending in '?') of at most {MAX_QUESTION_WORDS} words "
            f"that the file has, then {n - n_questions} short sentences ({6}-{MAX_FILL_WORDS} "
            "words) to make up the number (msrp/dev has no questions). One call per source "
            "and setting, n=32, k=20, model default sampling (top-k 5), max_length 32, "
            "seed = source index; the two settings called alternately. **off**: "
            f"`{OFF}` (plain gen_synonyms); **on**: the defaults (`words`, "
            "`no_repeat_ngram` 3, `no_repeat_word`, `keep_question`)."
            + (f" {note}" if note else ""),
            table(["metric", "off", "on", "target", "met (on)"], rows),
            f"Mask cost (in-process, same {n} sources, n=32, <= 32 new tokens): "
            f"**{cost['mask_ms_per_step']:.2f} ms per decode step** inside "
            "`StepConstraints.mask` + `.advance` (building the request's trie included), "
            f"against {cost['per_step_ms']['off']:.1f} ms per step for the whole decode "
            f"without constraints and {cost['per_step_ms']['on']:.1f} ms with them; median "
            f"decode {cost['median']['off']:.3f} s off, {cost['median']['on']:.3f} s on "
            "(rows end at different steps, so whole decodes differ by more than the mask). "
            f"Word trie: {cost['listed']} training-text words, {cost['trie_nodes']} nodes, "
            f"vocabulary {cost['vocab']}.",
            f"Words of the 'on' paraphrases not in wamerican: {oov}.",
            "Ten examples (source, top 3 returned by cosine of the generator's own encoder):",
            table(["source", "off", "on"], examples),
        ]
    )
    write_section(
        "paraphrase-questions",
        "Paraphrases of English questions: decoding constraints off vs on (issue 11)",
        body,
        "python -m benchmarks.bench_paraphrase --part questions",
    )
    return {"judged": judged, "times": times, "cost": cost}
