"""Locust scenarios: data file, probing, CSV parsing, and a real headless run."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from loadtest import make_sentences
from loadtest.probe import PROFILES, ROUTES, Availability, load_sentences
from loadtest.runner import read_stats, run_profile

ROOT = Path(__file__).resolve().parents[2]


def test_generator_is_deterministic_and_mixed() -> None:
    a = make_sentences.generate(200, seed=3)
    assert a == make_sentences.generate(200, seed=3)
    assert a != make_sentences.generate(200, seed=4)
    assert len(set(a)) == 200
    cjk = [s for s in a if re.search(r"[\u4e00-\u9fff]", s)]
    assert len(cjk) == 100  # alternating English / Chinese


def test_generator_lengths_follow_the_sts_shape() -> None:
    sentences = make_sentences.generate(600, seed=7)
    en = sorted(len(s.split()) for s in sentences[0::2])
    zh = sorted(len(s) for s in sentences[1::2])
    assert 7 <= en[len(en) // 2] <= 12 and en[-1] <= 45  # STS-B: ~10 words, tail to ~40
    assert 10 <= zh[len(zh) // 2] <= 18 and zh[-1] <= 60  # LCQMC-like: ~14 characters


def test_committed_data_file_is_the_generator_output() -> None:
    committed = (ROOT / "loadtest" / "sentences.txt").read_text(encoding="utf-8").splitlines()
    assert committed == make_sentences.generate(600, seed=7)


def test_generator_rejects_tiny_n() -> None:
    with pytest.raises(ValueError, match="n must be >= 2"):
        make_sentences.generate(1, seed=0)


def test_load_sentences_txt_and_tsv(tmp_path: Path) -> None:
    tsv = tmp_path / "pairs.tsv"
    rows = ["sentence1\tsentence2\tscore"] + [f"first {i}\tsecond {i}\t1.0" for i in range(40)]
    tsv.write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert load_sentences(tsv) == [f"first {i}" for i in range(40)]
    txt = tmp_path / "s.txt"
    txt.write_text("\n".join(["dup"] * 3 + [f"s{i}" for i in range(31)] + [""]), encoding="utf-8")
    assert load_sentences(txt) == ["dup"] + [f"s{i}" for i in range(31)]


def test_load_sentences_needs_32(tmp_path: Path) -> None:
    path = tmp_path / "few.txt"
    path.write_text("a\nb\n", encoding="utf-8")
    with pytest.raises(ValueError, match="at least 32 distinct sentences, found 2"):
        load_sentences(path)


def test_profiles_cover_every_scenario() -> None:
    assert set(PROFILES["mixed"]) == set(ROUTES)
    for name in ROUTES:
        assert PROFILES[name] == {name: 1}


def test_availability_without() -> None:
    base = Availability({"paraphrase": "no generator"})
    less = base.without(["search", "search-wrd"], "no collections")
    assert base.ok("search") and not less.ok("search-wrd")
    assert less.reason("paraphrase") == "no generator" and less.reason("embed-1") == ""


def test_read_stats(tmp_path: Path) -> None:
    header = (
        "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,"
        "Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,"
        "50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%"
    )
    rows = [
        "POST,embed-1,100,2,11,12.5,3,80,900,33.3,0.6,11,12,13,14,16,20,30,40,70,80,80",
        ",Aggregated,100,2,11,12.5,3,80,900,33.3,0.6,11,12,13,14,16,20,30,40,70,80,80",
    ]
    path = tmp_path / "x_stats.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    (stat,) = read_stats(path)
    assert (stat.name, stat.requests, stat.failures) == ("embed-1", 100, 2)
    assert (stat.rps, stat.p50_ms, stat.p95_ms, stat.p99_ms) == (33.3, 11.0, 20.0, 40.0)
    assert stat.error_rate == pytest.approx(0.02)


def test_profile_without_served_scenario_is_skipped_not_run(tmp_path: Path) -> None:
    available = Availability({"paraphrase": "/paraphrase answered 503 unavailable"})
    run = run_profile(
        ROOT / "loadtest" / "locustfile.py",
        "http://127.0.0.1:9",
        "paraphrase",
        available,
        users=1,
        seconds=1,
        out_dir=tmp_path,
    )
    assert run.stats == [] and run.exit_code is None
    assert run.skipped == "/paraphrase answered 503 unavailable"
    with pytest.raises(ValueError, match="profile must be one of"):
        run_profile(ROOT / "loadtest" / "locustfile.py", "x", "nope", available, 1, 1, tmp_path)


def test_headless_run_against_a_local_server(tiny_models_dir: Path, tmp_path: Path) -> None:
    """`python -m loadtest` starts the service through scripts/serve.sh, prepares the search
    collection, runs each profile with locust headless and reports per scenario."""
    env = {
        **os.environ,
        "SIMSERVE_MODELS__DEFAULT": "tiny",
        "PYTHONPATH": str(ROOT),
    }
    cmd = [
        sys.executable,
        "-m",
        "loadtest",
        "--models-dir",
        str(tiny_models_dir),
        "--seconds",
        "3",
        "--users",
        "4",
        "--docs",
        "100",
        "--no-write",
        "--out-dir",
        str(tmp_path / "out"),
        "--profiles",
        "embed-1,embed-32,search,paraphrase,mixed",
    ]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = {}
    for line in proc.stdout.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 8 and cells[0] in PROFILES:
            rows[(cells[0], cells[1])] = cells
    for key in [
        ("embed-1", "embed-1"),
        ("embed-32", "embed-32"),
        ("search", "search"),
        ("mixed", "embed-1"),
    ]:
        assert key in rows, proc.stdout
        assert int(rows[key][2]) > 0 and rows[key][7] == "0.00%", rows[key]
    assert rows[("paraphrase", "-")][7].startswith("skipped: /paraphrase answered 503"), rows
