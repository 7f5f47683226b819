#!/usr/bin/env bash
# refactor.sh: make a working training script tunable, and nothing more.
#
# AFT reads TARGET, finds its hyperparameters (module constants, literal keyword arguments,
# TrainingArguments(...), config files) and proposes a change that exposes them as
# command-line flags with the original defaults and makes the script report its metrics.
# The change is proven (static check, then a smoke run) and committed on the branch
# aft/<session>; your working copy is never touched. `python <script>` with no flags still
# behaves exactly as before. A thin wrapper over `aft refactor`: edit the variables below, or
# set them for one run, e.g.
#
#     TARGET=target.py SMOKE="--epochs 1" ./scripts/refactor.sh
#
# Then tune the refactored script in the same session:
#
#     RESUME=<session id printed below> ./scripts/finetune.sh
#
# DRY_RUN=1 prints the command instead of running it. Anything after the script's name is
# passed to `aft refactor` as is (see `aft refactor --help`).
set -euo pipefail

# --- what to refactor -----------------------------------------------------------------------
TARGET="${TARGET:-target.py}"       # the training script
PARAMS="${PARAMS:-}"                # comma-separated parameters to expose; empty: all AFT finds
SMOKE="${SMOKE:-}"                  # extra flags for the smoke run that proves the change, e.g. "--epochs 1"
SMOKE_TIMEOUT="${SMOKE_TIMEOUT:-}"  # time limit of the smoke run in seconds (default 300)

# --- where the script runs ------------------------------------------------------------------
PYTHON="${PYTHON:-}"                # interpreter for the script; empty: the one running AFT
CONDA_ENV="${CONDA_ENV:-}"          # or: a conda environment name
VENV="${VENV:-}"                    # or: a virtual environment folder
OUTPUTS="${OUTPUTS:-}"              # outputs folder (smoke-run logs); empty: outputs/ in the project

# --- how AFT runs ---------------------------------------------------------------------------
YES="${YES:-0}"                     # 1: apply the refactor without showing it for approval first
MODEL="${MODEL:-}"                  # an LLM for unusual code and repairs (litellm model string); empty: offline
AFT_PYTHON="${AFT_PYTHON:-python3}" # runs AFT from this checkout when the `aft` command is not installed
DRY_RUN="${DRY_RUN:-0}"

# --------------------------------------------------------------------------------------------
# shellcheck source=scripts/_aft_command.sh
. "$(dirname "${BASH_SOURCE[0]}")/_aft_command.sh"
aft_command refactor "$@"
status=0
"${cmd[@]}" || status=$?
if [ "$status" -eq 0 ]; then
  echo "Next: RESUME=<the session id above> ./scripts/finetune.sh tunes the refactored script (list sessions: aft sessions)."
fi
exit "$status"
