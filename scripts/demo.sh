#!/usr/bin/env bash
# Install AFT, then open `aft chat` on the bundled example (type /pipeline or /tune, approve with
# `a`, quit with Ctrl+Q). Without a terminal, print the transcript of the recorded demo session
# instead. Extra arguments go to `aft chat`.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install.sh
VENV="${AFT_VENV:-.venv}"
if [ -z "${VIRTUAL_ENV:-}" ]; then
  # shellcheck disable=SC1091
  . "$VENV/bin/activate"
fi
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
if [ -t 0 ] && [ -t 1 ] && [ "${TERM:-dumb}" != "dumb" ]; then
  exec aft chat cookbook/targets/mlp_classifier.py --metric val_acc --direction max --trials 8 "$@"
fi
exec aft replay sessions/demo-mlp.jsonl --plain
