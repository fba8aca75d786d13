#!/usr/bin/env bash
# CI step for the deployment files (no Docker engine needed): installs Debian's
# docker-compose 1.29 when it is missing and apt is usable, then runs every check.
# Usage: scripts/ci-deploy.sh [PYTHON]   (default .venv/bin/python)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
python="${1:-.venv/bin/python}"
require=(--require-all)
if ! command -v docker-compose >/dev/null 2>&1; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1 \
     && { apt-get update -qq && apt-get install -y -qq docker-compose; } >/dev/null 2>&1; then
    echo "ci-deploy: installed docker-compose $(docker-compose version --short 2>/dev/null)"
  else
    echo "ci-deploy: docker-compose unavailable; the vendored compose schema check still runs"
    require=()
  fi
fi
"${python}" scripts/check_deploy.py "${require[@]}"
