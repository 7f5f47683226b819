#!/usr/bin/env bash
# Install everything (see install.sh) and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install.sh
VENV="${AFT_VENV:-.venv}"
if [ -z "${VIRTUAL_ENV:-}" ]; then
  # shellcheck disable=SC1091
  . "$VENV/bin/activate"
fi
export OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 LITELLM_LOCAL_MODEL_COST_MAP=True
# Most tests wait on real subprocesses: two workers keep both cores busy.
exec python -m pytest -q -n "${AFT_TEST_WORKERS:-2}" "$@"
