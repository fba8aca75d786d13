"""`python -m loadtest`: run the locust scenarios headless and write BENCHMARKS.md.

Starts this service the way the image does (scripts/serve.sh, real uvicorn on a free
loopback port) unless --host points at a running one, prepares the search collection,
then runs each profile of loadtest/locustfile.py for a bounded time and records RPS,
p50/p95/p99 and error rate per scenario. Profiles whose endpoints are not served are
listed as skipped with the reason.

    flock /tmp/simserve-heavy.lock python -m loadtest [--seconds 20] [--users 16]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from loadtest.probe import Availability, discover, load_sentences, prepare_collection
from loadtest.runner import ProfileRun, local_server, run_profile

ROOT = Path(__file__).resolve().parents[1]
LOCUSTFILE = ROOT / "loadtest" / "locustfile.py"
DEFAULT_PROFILES = ("embed-1", "embed-32", "search", "search-wrd", "paraphrase", "mixed")


def render(runs: list[ProfileRun], args: argparse.Namespace) -> str:
    from benchmarks.report import table

    rows = []
    for run in runs:
        if run.skipped:
            rows.append([run.profile, "-", "-", "-", "-", "-", "-", f"skipped: {run.skipped}"])
        for s in run.stats:
            rows.append(
                [
                    run.profile,
                    s.name,
                    s.requests,
                    s.rps,
                    s.p50_ms,
                    s.p95_ms,
                    s.p99_ms,
                    f"{s.error_rate:.2%}",
                ]
            )
    header = ["profile", "scenario", "requests", "req/s", "p50 ms", "p95 ms", "p99 ms", "errors"]
    note = (
        f"locust {args.users} users (closed loop, no wait), {args.seconds:.0f} s per profile, "
        f"sentences from `{args.sentences}`; server: "
        + (
            args.host
            or f"`scripts/serve.sh`, models from {', '.join(f'`{d}`' for d in args.models_dir)}, "
            "defaults otherwise"
        )
        + f"; search collection of {args.docs} documents (server's default index). "
        "Locust and the server share the machine's cores; percentiles are locust's "
        "(rounded to 2 significant digits)."
    )
    return table(header, rows) + "\n\n" + note


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", help="running server URL (default: start one on loopback)")
    parser.add_argument(
        "--models-dir",
        type=Path,
        action="append",
        help="model folders' parent (repeatable; default var/models and models/zoo)",
    )
    parser.add_argument("--profiles", default=",".join(DEFAULT_PROFILES))
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--users", type=int, default=16)
    parser.add_argument("--docs", type=int, default=2000)
    parser.add_argument("--sentences", type=Path, default=ROOT / "loadtest" / "sentences.txt")
    parser.add_argument("--out-dir", type=Path, help="locust CSVs and server log (default: temp)")
    parser.add_argument("--no-write", action="store_true", help="print only, leave BENCHMARKS.md")
    parser.add_argument("--note", default="", help="a sentence about this run for the report")
    args = parser.parse_args(argv)
    args.models_dir = args.models_dir or [ROOT / "var" / "models", ROOT / "models" / "zoo"]
    profiles = [p for p in args.profiles.split(",") if p]
    sentences = load_sentences(args.sentences)
    out_dir = args.out_dir or Path(tempfile.mkdtemp(prefix="simserve-loadtest-"))
    out_dir.mkdir(parents=True, exist_ok=True)

    with local_server(args.host, args.models_dir, out_dir) as host:
        available: Availability = discover(host)
        if any(p.startswith("search") or p == "mixed" for p in profiles) and available.ok("search"):
            reason = prepare_collection(host, "loadtest", sentences, args.docs)
            if reason:
                available = available.without(["search", "search-wrd"], reason)
        env = {
            "SIMSERVE_LOADTEST_DOCS": str(args.docs),
            "SIMSERVE_LOADTEST_SENTENCES": str(args.sentences),
        }
        runs = [
            run_profile(
                LOCUSTFILE, host, profile, available, args.users, args.seconds, out_dir, env
            )
            for profile in profiles
        ]
    body = render(runs, args) + (f"\n\nNote: {args.note}" if args.note else "")
    print(body)
    if not args.no_write:
        from benchmarks.report import write_section

        command = "flock /tmp/simserve-heavy.lock python -m loadtest " + " ".join(
            argv or sys.argv[1:]
        )
        write_section("loadtest", "Load test: locust scenarios (issue 6)", body, command.strip())
    failed = [r for r in runs if r.exit_code not in (0, None)]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
