#!/usr/bin/env bash
# The GPU check for the first NVIDIA machine that has a driver, CUDA, cuda-python, torch and ONNX
# Runtime but no TensorRT and no network: the CUDA layer's tests through cuda-python, the tests
# marked gpu/tensorrt, and the zoo on the GPU through the torch backend (fp32/fp16, batch 1/4/8).
# It uses only what is installed, says what it skipped, writes JSON under benchmarks/results/ (or
# --out DIR), and exits non-zero only on a real failure. The steps live in gpu_check.py.
#
#   benchmarks/gpu_check.sh [--quick] [--out DIR] [--budget SECONDS] [--models A,B] [--size HxW] [--help]
#
# Python: $PYTHON, else the repository's .venv, else python3. The whole run is killed at 470 s
# (under 8 minutes); gpu_check.py budgets its steps to finish well before.
set -u
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
cd "$root" || exit 2

py="${PYTHON:-}"
if [ -z "$py" ]; then
  if [ -x "$root/.venv/bin/python" ]; then
    py="$root/.venv/bin/python"
  else
    py="$(command -v python3 || command -v python || true)"
  fi
fi
if [ -z "$py" ]; then
  echo "gpu_check: no python found; set PYTHON=/path/to/python" >&2
  exit 2
fi

if command -v timeout >/dev/null 2>&1; then
  exec timeout --kill-after=10 470 "$py" "$here/gpu_check.py" "$@"
fi
exec "$py" "$here/gpu_check.py" "$@"
