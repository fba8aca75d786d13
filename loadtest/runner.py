"""Run one locust profile headless and read its CSV; start a local server for the run."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

from loadtest.probe import PROFILES, Availability

ROOT = Path(__file__).resolve().parents[1]


class ScenarioStats(NamedTuple):
    name: str
    requests: int
    failures: int
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float

    @property
    def error_rate(self) -> float:
        return self.failures / self.requests if self.requests else 0.0


class ProfileRun(NamedTuple):
    profile: str
    stats: list[ScenarioStats]
    skipped: str  # why nothing ran ("" when it ran)
    exit_code: int | None


def read_stats(path: Path) -> list[ScenarioStats]:
    """Per-request-name rows of locust's ``*_stats.csv`` (the Aggregated row dropped)."""
    with path.open(encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["Name"] != "Aggregated"]
    return [
        ScenarioStats(
            name=r["Name"],
            requests=int(r["Request Count"]),
            failures=int(r["Failure Count"]),
            rps=float(r["Requests/s"]),
            p50_ms=float(r["50%"]),
            p95_ms=float(r["95%"]),
            p99_ms=float(r["99%"]),
        )
        for r in rows
    ]


def run_profile(
    locustfile: Path,
    host: str,
    profile: str,
    available: Availability,
    users: int,
    seconds: float,
    out_dir: Path,
    env: dict[str, str] | None = None,
) -> ProfileRun:
    """Run ``profile`` for ``seconds``; skipped (not run) when none of its scenarios is served."""
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {sorted(PROFILES)}, got {profile!r}")
    served = [s for s in PROFILES[profile] if available.ok(s)]
    if not served:
        reasons = sorted({available.reason(s) for s in PROFILES[profile]})
        return ProfileRun(profile, [], "; ".join(reasons), None)
    prefix = out_dir / profile
    cmd = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(locustfile),
        "--headless",
        "-u",
        str(users),
        "-r",
        str(users),
        "-t",
        f"{max(1, round(seconds))}s",
        "--host",
        host,
        "--csv",
        str(prefix),
        "--only-summary",
        "--loglevel",
        "WARNING",
        "--stop-timeout",
        "10",
    ]
    run_env = {**os.environ, **(env or {}), "SIMSERVE_LOADTEST_PROFILE": profile}
    proc = subprocess.run(
        cmd, cwd=ROOT, env=run_env, capture_output=True, text=True, timeout=seconds + 300
    )
    (out_dir / f"{profile}.log").write_text(proc.stdout + proc.stderr, encoding="utf-8")
    stats_path = Path(f"{prefix}_stats.csv")
    stats = read_stats(stats_path) if stats_path.exists() else []
    skipped = "" if stats else f"locust exited {proc.returncode} without stats"
    return ProfileRun(profile, stats, skipped, proc.returncode)


@contextmanager
def local_server(host: str | None, models_dirs: list[Path], out_dir: Path) -> Iterator[str]:
    """Yield ``host`` when given; else start scripts/serve.sh on a free loopback port."""
    if host:
        yield host.rstrip("/")
        return
    from benchmarks.race_servers import ServerSpec, running

    spec = ServerSpec(
        name="simserve-loadtest",
        config="scripts/serve.sh",
        argv=("bash", str(ROOT / "scripts" / "serve.sh"), "--port", "{port}"),
        health_path="/health/ready",
        embed_path="/embed",
        make_body=lambda texts: {"texts": texts},
        parse=lambda payload: payload,
        env={
            "PYTHON": sys.executable,
            "SIMSERVE_SERVER__HOST": "127.0.0.1",
            "SIMSERVE_SERVER__LOG_LEVEL": "warning",
            "SIMSERVE_MODELS__DIRS": json.dumps([str(d) for d in models_dirs]),
            "SIMSERVE_COLLECTIONS__DATA_DIR": str(out_dir / "collections"),
        },
    )
    with running(spec, out_dir) as base:
        yield base
