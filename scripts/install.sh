#!/usr/bin/env bash
# Install AFT and the example targets' libraries into .venv (created if missing).
# On a machine without an NVIDIA GPU, torch comes from PyTorch's CPU-only index, so no CUDA
# wheels (several GB) are downloaded. Set AFT_VENV to use another environment folder, and
# AFT_TORCH_CPU_INDEX to use a mirror of the CPU-only index.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${AFT_VENV:-.venv}"
CPU_INDEX="${AFT_TORCH_CPU_INDEX:-https://download.pytorch.org/whl/cpu}"
if [ -z "${VIRTUAL_ENV:-}" ]; then
  if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
  fi
  # shellcheck disable=SC1091
  . "$VENV/bin/activate"
fi
python -m pip install --quiet --upgrade pip >/dev/null 2>&1 || true
if ! python -c "import torch" >/dev/null 2>&1; then
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    python -m pip install --quiet torch
  elif python - "$CPU_INDEX" <<'PY'
import sys
import urllib.request

# One short probe: where the CPU-only index is unreachable, pip would retry it for every
# dependency (minutes) before the fallback below.
try:
    urllib.request.urlopen(sys.argv[1].rstrip("/") + "/", timeout=5)
except Exception:
    sys.exit(1)
PY
  then
    python -m pip install --quiet torch --index-url "$CPU_INDEX" \
      || python -m pip install --quiet torch
  else
    python -m pip install --quiet torch
  fi
fi
extras="${AFT_EXTRAS:-examples,test}"
python -m pip install --quiet -e ".[${extras}]"
