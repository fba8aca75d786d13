#!/usr/bin/env bash
# Install simserve into a virtual environment. The images run exactly this (see Dockerfile,
# docker/Dockerfile.gpu) and CI runs it outside Docker (tests/deploy/test_scripts.py).
#
# Usage: scripts/install.sh [--venv DIR] [--extras serve|train|gpu|LIST] [--editable]
#   serve  serving dependencies only (no torch): the runtime image
#   train  + torch (CPU), transformers, sentence-transformers, onnx: exports models
#   gpu    serving with onnxruntime-gpu and faiss-gpu instead of the CPU builds
#   LIST   any comma-separated pyproject extras, e.g. train,dev,loadtest
# Env: PYTHON (interpreter that creates the venv, default python3.11 or python3),
#      TORCH_INDEX_URL (wheel index for torch, e.g. the CPU-only one in the images).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "${here}/.." && pwd)"
venv=".venv"
extras="serve"
editable=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --venv) venv="$2"; shift 2 ;;
    --extras) extras="$2"; shift 2 ;;
    --editable) editable=1; shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown argument: $1" >&2; exit 2 ;;
  esac
done

python="${PYTHON:-$(command -v python3.11 || command -v python3)}"
if [[ ! -x "${venv}/bin/python" ]]; then
  "${python}" -m venv "${venv}"
fi
pip=("${venv}/bin/python" -m pip install --disable-pip-version-check)

case "${extras}" in
  serve|"") spec="${root}" ;;
  *) spec="${root}[${extras}]" ;;
esac
project=("${spec}")
[[ ${editable} -eq 1 ]] && project=(--editable "${spec}")

if [[ ",${extras}," == *",train,"* && -n "${TORCH_INDEX_URL:-}" ]]; then
  # torch first from the given index so the resolver keeps that (CPU) build.
  torch_pin="$(grep -oE '"torch==[^"]+"' "${root}/pyproject.toml" | tr -d '"' | head -n1)"
  "${pip[@]}" --index-url "${TORCH_INDEX_URL}" "${torch_pin:-torch}"
fi

"${pip[@]}" "${project[@]}"

if [[ "${extras}" == "gpu" ]]; then
  # The base dependencies pull the CPU builds; both provide the same modules, so drop
  # them and reinstall the GPU builds over the top.
  "${venv}/bin/python" -m pip uninstall -y onnxruntime faiss-cpu
  gpu_pins="$(sed -n '/^gpu = \[/,/\]/p' "${root}/pyproject.toml" | grep -oE '"[^"]+"' | tr -d '"')"
  # shellcheck disable=SC2086
  "${pip[@]}" --force-reinstall --no-deps ${gpu_pins}
fi

# The serving venv must never carry torch: the runtime image is sized and audited on that.
if [[ "${extras}" == "serve" || "${extras}" == "gpu" ]]; then
  if "${venv}/bin/python" -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('torch') is None)"; then
    echo "install.sh: torch ended up in the serving venv ${venv}" >&2
    exit 1
  fi
fi
echo "install.sh: installed ${spec} into ${venv}"
