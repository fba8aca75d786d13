"""The steps the images run, run here: serve.sh starts the real service, healthcheck.py
probes it, and (slow) install.sh + export-models.sh build a torch-free serving venv."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

from tests.live_server import free_port

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"


def healthcheck(port: int, python: str = sys.executable) -> int:
    cmd = [python, str(SCRIPTS / "healthcheck.py"), "--port", str(port), "--timeout", "2"]
    return subprocess.run(cmd, capture_output=True, timeout=30).returncode


def start_like_the_image(python: str, env: dict[str, str], cwd: Path, log: Path):
    """scripts/serve.sh as the image's CMD runs it: port from SIMSERVE_SERVER__PORT."""
    port = free_port()
    full_env = {
        **{k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
        "PYTHON": python,
        "SIMSERVE_SERVER__HOST": "127.0.0.1",
        "SIMSERVE_SERVER__PORT": str(port),
        "SIMSERVE_SERVER__LOG_LEVEL": "warning",
        **env,
    }
    with log.open("wb") as out:
        proc = subprocess.Popen(
            ["bash", str(SCRIPTS / "serve.sh")],
            cwd=cwd,
            env=full_env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return proc, port


def wait_ready(proc, port: int, log: Path, timeout: float, python: str = sys.executable) -> None:
    deadline = time.monotonic() + timeout
    while healthcheck(port, python) != 0:
        assert proc.poll() is None, f"server exited {proc.returncode}:\n{log.read_text()[-3000:]}"
        assert time.monotonic() < deadline, f"not ready in {timeout} s:\n{log.read_text()[-3000:]}"
        time.sleep(0.3)


def stop(proc) -> int:
    proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=60)


def test_healthcheck_fails_when_nothing_listens() -> None:
    assert healthcheck(free_port()) == 1


def test_serve_script_starts_the_service_like_the_image(
    tiny_models_dir: Path, tmp_path: Path
) -> None:
    collections = tmp_path / "volume" / "collections"
    env = {
        "SIMSERVE_MODELS__DIRS": json.dumps([str(tiny_models_dir)]),
        "SIMSERVE_MODELS__DEFAULT": "tiny",
        "SIMSERVE_COLLECTIONS__DATA_DIR": str(collections),
        # the image installs the package; this venv may run it from the source tree
        "PYTHONPATH": str(ROOT),
    }
    log = tmp_path / "serve.log"
    # cwd outside the repository, as in the image (WORKDIR /var/lib/simserve)
    proc, port = start_like_the_image(sys.executable, env, tmp_path, log)
    try:
        wait_ready(proc, port, log, timeout=120)
        assert collections.is_dir(), "serve.sh creates the collections directory of a fresh volume"
        r = httpx.post(f"http://127.0.0.1:{port}/embed", json={"texts": ["hello world", "你好"]})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["model"] == "tiny" and body["dim"] == 32
        np.testing.assert_allclose(np.linalg.norm(body["embeddings"], axis=1), 1.0, atol=1e-5)
    finally:
        code = stop(proc)
    assert code == 0, log.read_text()[-3000:]
    assert healthcheck(port) == 1


def test_serve_script_fails_fast_without_python(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHON": str(tmp_path / "no-such-python")}
    proc = subprocess.run(
        ["bash", str(SCRIPTS / "serve.sh")], env=env, capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 127
    assert "no-such-python" in proc.stderr


def test_install_script_rejects_unknown_arguments() -> None:
    proc = subprocess.run(
        ["bash", str(SCRIPTS / "install.sh"), "--frobnicate"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2
    assert "unknown argument: --frobnicate" in proc.stderr


@pytest.mark.slow
def test_image_recipe_outside_docker(tmp_path: Path) -> None:
    """The Dockerfile's RUN steps in order: export the default models with the train extra
    (this venv), install a fresh serving venv (no torch), serve from it, embed."""
    python = sys.executable
    models = tmp_path / "opt-simserve-models"
    env = {**os.environ, "PYTHON": python, "SIMSERVE_EXPORT_ZOO": "1"}
    subprocess.run(
        ["bash", str(SCRIPTS / "export-models.sh"), str(models)], env=env, check=True, timeout=1200
    )
    zoo = [p.parent.name for p in (ROOT / "models" / "zoo").glob("*/manifest.json")]
    for name in ("minilm", "minilm-int8", *zoo):
        assert (models / name / "manifest.json").is_file()
        assert (models / name / "encoder.onnx").is_file()

    venv = tmp_path / "opt-venv"
    subprocess.run(
        ["bash", str(SCRIPTS / "install.sh"), "--venv", str(venv), "--extras", "serve"],
        check=True,
        timeout=1800,
    )
    serve_python = str(venv / "bin" / "python")
    probe = "import importlib.util as u; print(u.find_spec('torch') is None)"
    assert (
        subprocess.run([serve_python, "-c", probe], capture_output=True, text=True).stdout.strip()
        == "True"
    )

    workdir = tmp_path / "var-lib-simserve"
    workdir.mkdir()
    env = {
        "SIMSERVE_MODELS__DIRS": json.dumps([str(workdir / "models"), str(models)]),
        "SIMSERVE_COLLECTIONS__DATA_DIR": str(workdir / "collections"),
    }
    log = tmp_path / "serve.log"
    proc, port = start_like_the_image(serve_python, env, workdir, log)
    try:
        wait_ready(proc, port, log, timeout=300, python=serve_python)
        names = {m["name"] for m in httpx.get(f"http://127.0.0.1:{port}/models").json()["models"]}
        assert {"minilm", "minilm-int8"} <= names
        r = httpx.post(
            f"http://127.0.0.1:{port}/embed", json={"texts": ["A man is playing a guitar."]}
        )
        assert r.status_code == 200 and r.json()["dim"] == 384
    finally:
        assert stop(proc) == 0, log.read_text()[-3000:]
