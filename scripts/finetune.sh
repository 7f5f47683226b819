#!/usr/bin/env bash
# finetune.sh: tune a training script that already takes its hyperparameters as flags.
#
# For a script that `refactor.sh` prepared, or one written that way (argparse flags, a printed
# or AFT_METRICS-reported validation metric), such as cookbook/targets/mlp_classifier.py.
# AFT runs TRIALS trials, each on its own commit of the branch aft/<session> (your working copy
# is never touched), keeps the best model and writes result.json, results.json and
# metadata.json to OUTPUTS. A thin wrapper over `aft tune`: edit the variables below, or set
# them for one run, e.g.
#
#     TARGET=train.py TRIALS=20 METRIC=val_acc ./scripts/finetune.sh
#
# DRY_RUN=1 prints the command instead of running it. Anything after the script's name is
# passed to `aft tune` as is (see `aft tune --help`).
set -euo pipefail

# --- what to tune --------------------------------------------------------------------------
TARGET="${TARGET:-train.py}"        # the training script
TRIALS="${TRIALS:-8}"               # number of trials (the first runs the script's own defaults)
METRIC="${METRIC:-}"                # objective, e.g. val_acc; empty: AFT picks one and says which
DIRECTION="${DIRECTION:-}"          # max or min; empty: inferred from the metric's name
PARAMS="${PARAMS:-}"                # comma-separated parameters to tune, e.g. lr,dropout; empty: all
STRATEGY="${STRATEGY:-}"            # tpe (default), random, gp, cmaes, grid, coordinate, llm, hybrid
TIMEOUT="${TIMEOUT:-}"              # per-trial time limit in seconds
BUDGET="${BUDGET:-}"                # wall-time budget for the whole run, in seconds
RESUME="${RESUME:-}"                # a session id (see `aft sessions`) to continue instead of starting one

# --- where the script runs ------------------------------------------------------------------
PYTHON="${PYTHON:-}"                # interpreter for the script; empty: the one running AFT
CONDA_ENV="${CONDA_ENV:-}"          # or: a conda environment name
VENV="${VENV:-}"                    # or: a virtual environment folder
PREFIX="${PREFIX:-}"                # launcher prefix, e.g. "torchrun --nproc_per_node 2"
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
aft_command tune "$@"
exec "${cmd[@]}"
