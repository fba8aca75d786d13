"""SIGKILL a real server during mixed upserts and deletes; no acknowledged write is lost.

CI runs 3 kills over up to 300 writes each; `python -m benchmarks.crash --reps 20 --ops 1000`
is the full run (its last result is in BENCHMARKS.md and SECURITY.md).
"""

from __future__ import annotations

import httpx
import pytest

from benchmarks.crash import run_trials
from tests.hardening.helpers import collections_env, start_server


def _has_collections(models_dir, root) -> bool:
    server = start_server(models_dir, **collections_env(root))
    try:
        return "/collections/{name}" in httpx.get(f"{server.url}/openapi.json").json()["paths"]
    finally:
        server.stop()


def test_sigkill_during_writes_loses_no_acknowledged_write(tiny_models_dir, tmp_path):
    if not _has_collections(tiny_models_dir, tmp_path / "probe"):
        pytest.skip("collections are not served by this build")
    results = run_trials(tiny_models_dir, "tiny", reps=3, ops=300, seed=1, workdir=tmp_path)
    assert len(results) == 3
    assert all(r.acked_writes >= r.kill_after for r in results)  # killed mid-run, after k acks
    assert sum(r.lost for r in results) == 0, results
    assert sum(r.index_mismatch for r in results) == 0, results
