"""scripts/trace_layers.py: /search and an augmented upsert call down the layers, never up."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_search_and_augmented_upsert_run_top_down():
    done = subprocess.run(
        [sys.executable, "scripts/trace_layers.py"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr[-2000:]
    # both requests reached every layer they need, through the services
    assert "augmented upsert:\n  app.api -> app.services" in done.stdout
    for edge in ("app.services -> app.generation", "app.services -> app.index",
                 "app.services -> app.rerank", "app.services -> app.engines"):  # fmt: skip
        assert edge in done.stdout
    assert done.stdout.rstrip().endswith("every call runs top down")
