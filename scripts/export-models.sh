#!/usr/bin/env bash
# Export the embedded default model folders (packaged all-MiniLM-L6-v2 as `minilm`, and its
# int8 variant `minilm-int8`) into OUT_DIR. The image build stage runs this; so does CI.
#
# Usage: scripts/export-models.sh [OUT_DIR]        (default var/models)
# Env: PYTHON (interpreter with the `train` extra; default python),
#      SIMSERVE_EXPORT_INT8=0 to skip the int8 variant,
#      SIMSERVE_EXPORT_ZOO=1 to also copy the committed model folders of models/zoo
#      (the images do: their model search path does not include the source tree).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "${here}/.." && pwd)"
out="${1:-var/models}"
python="${PYTHON:-python}"
args=(-m models export-default --out "${out}")
[[ "${SIMSERVE_EXPORT_INT8:-1}" != "0" ]] && args+=(--int8)

mkdir -p "${out}"
# Run from the project root so `python -m models` resolves without an install.
cd "${root}"
HF_HUB_OFFLINE=1 "${python}" "${args[@]}"
if [[ "${SIMSERVE_EXPORT_ZOO:-0}" == "1" && -d models/zoo ]]; then
  for folder in models/zoo/*/; do
    [[ -f "${folder}manifest.json" ]] || continue
    rm -rf "${out:?}/$(basename "${folder}")"
    cp -r "${folder}" "${out}/"
    echo "export-models.sh: copied ${folder} to ${out}"
  done
fi
