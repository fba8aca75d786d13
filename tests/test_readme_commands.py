"""The README's two commands, run from a clean clone of the committed tree.

`.ci/run` proves the install half from scratch (fresh venv, `make test`). Here a clean clone
runs `make serve` for real, reusing this test run's virtual environment (`make -o` marks the
install stamp as up to date, so the clone's own venv is not rebuilt), and the served
default model must answer /embed. Marked slow: it exports the packaged MiniLM.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.live_server import REPO, free_port


def readme_commands() -> list[str]:
    text = (REPO / "README.md").read_text()
    block = re.search(r"## Two commands.*?```bash\n(.*?)```", text, re.S)
    assert block, "README has no 'Two commands' bash block"
    return [line.split("#")[0].strip() for line in block.group(1).splitlines() if line.strip()]


def test_readme_names_exactly_two_make_targets_that_exist():
    commands = readme_commands()
    assert commands == ["make serve", "make test"]
    for target in ("serve", "test"):
        dry = subprocess.run(["make", "-n", target], cwd=REPO, capture_output=True, text=True)
        assert dry.returncode == 0, dry.stderr


@pytest.mark.slow
def test_make_serve_from_a_clean_clone_serves_the_default_model(tmp_path):
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True)
    if head.returncode != 0:
        pytest.skip("not a git checkout")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
    venv = Path(sys.executable).parent.parent
    port = free_port()
    env = {**os.environ, "SIMSERVE_SERVER__LOG_LEVEL": "warning"}
    proc = subprocess.Popen(
        ["make", "-o", f"{venv}/.installed", "serve", f"VENV={venv}", f"PORT={port}"],
        cwd=clone,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 600
        url = f"http://127.0.0.1:{port}"
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.stdout.read().decode()[-3000:]
            try:
                if httpx.get(f"{url}/health/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        else:
            pytest.fail("make serve did not become ready")
        r = httpx.post(f"{url}/embed", json={"texts": ["hello world"]}, timeout=30)
        assert r.status_code == 200 and r.json()["model"] == "minilm" and r.json()["dim"] == 384
        assert (clone / "var/models/minilm/manifest.json").is_file()
        # the shipped bilingual model is served too, from the clone's models/zoo
        zh = httpx.post(
            f"{url}/embed", json={"texts": ["忘记密码怎么办？"], "model": "zh-minilm"}, timeout=30
        )
        assert zh.status_code == 200 and zh.json()["dim"] == 384, zh.text
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(60)
