#!/usr/bin/env bash
# pipeline.sh: from a working training script to its best hyperparameters, in one run.
#
# inspect → refactor (expose the hyperparameters as flags, report metrics) → repair (until the
# refactored script runs like the original) → tune (TRIALS trials, the first with the script's
# own defaults) → analyse the best trial's learning curves. Every step is a commit on the
# branch aft/<session>; your working copy is never touched. The best model, result.json,
# results.json and metadata.json land in OUTPUTS. A thin wrapper over `aft pipeline`: edit the
# variables below, or set them for one run, e.g.
#
#     TARGET=target.py TRIALS=12 ./scripts/pipeline.sh
#
# DRY_RUN=1 prints the command instead of running it. Anything after the script's name is
# passed to `aft pipeline` as is (see `aft pipeline --help`).
set -euo pipefail

# --- what to tune --------------------------------------------------------------------------
TARGET="${TARGET:-target.py}"       # the training script
TRIALS="${TRIALS:-8}"               # number of trials (the first runs the script's own defaults)
METRIC="${METRIC:-}"                # objective, e.g. val_accuracy; empty: AFT picks one and says which
DIRECTION="${DIRECTION:-}"          # max or min; empty: inferred from the metric's name
PARAMS="${PARAMS:-}"                # comma-separated parameters to expose and tune; empty: all AFT finds
STRATEGY="${STRATEGY:-}"            # tpe (default), random, gp, cmaes, grid, coordinate, llm, hybrid
TIMEOUT="${TIMEOUT:-}"              # per-trial time limit in seconds
BUDGET="${BUDGET:-}"                # wall-time budget for the tuning, in seconds
SMOKE="${SMOKE:-}"                  # extra flags for the smoke run that proves the refactor, e.g. "--epochs 1";
                                    # empty: it trains the defaults and is kept as trial 1
RESUME="${RESUME:-}"                # a session id (see `aft sessions`) to continue from the step it reached

# --- where the script runs ------------------------------------------------------------------
PYTHON="${PYTHON:-}"                # interpreter for the script; empty: the one running AFT
CONDA_ENV="${CONDA_ENV:-}"          # or: a conda environment name
VENV="${VENV:-}"                    # or: a virtual environment folder
PREFIX="${PREFIX:-}"                # launcher prefix, e.g. "accelerate launch"
OUTPUTS="${OUTPUTS:-}"              # outputs folder; empty: outputs/ in the project
MLFLOW="${MLFLOW:-}"                # also record trials in MLflow, e.g. sqlite:///mlruns.db

# --- how AFT runs ---------------------------------------------------------------------------
YES="${YES:-1}"                     # 1: apply AFT's proposals without asking
LOGS="${LOGS:-0}"                   # 1: stream each trial's output
MODEL="${MODEL:-}"                  # an LLM for the assistant (litellm model string); empty: offline
AFT_PYTHON="${AFT_PYTHON:-python3}" # runs AFT from this checkout when the `aft` command is not installed
DRY_RUN="${DRY_RUN:-0}"

# --------------------------------------------------------------------------------------------
# shellcheck source=scripts/_aft_command.sh
. "$(dirname "${BASH_SOURCE[0]}")/_aft_command.sh"
aft_command pipeline "$@"
exec "${cmd[@]}"
