#!/usr/bin/env bash
# Install AFT and tune the bundled example end to end, offline, on the CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install.sh
VENV="${AFT_VENV:-.venv}"
if [ -z "${VIRTUAL_ENV:-}" ]; then
  # shellcheck disable=SC1091
  . "$VENV/bin/activate"
fi
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
exec aft tune cookbook/targets/mlp_classifier.py --trials 8 --metric val_acc --direction max --yes "$@"
