#!/usr/bin/env bash
# Start the API exactly as the images' CMD does: `python -m app` (uvicorn), every setting
# from SIMSERVE_* env (nested with __, see app/settings.py). Extra arguments go to
# `python -m app` (--host, --port).
#
# Env: PYTHON (interpreter of the serving venv; default python on PATH).
set -euo pipefail

python="${PYTHON:-python}"
# A collections directory that does not exist yet is created, so a fresh volume works.
if [[ -n "${SIMSERVE_COLLECTIONS__DATA_DIR:-}" ]]; then
  mkdir -p "${SIMSERVE_COLLECTIONS__DATA_DIR}"
fi
exec "${python}" -m app "$@"
