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
if command -v aft >/dev/null 2>&1; then
  cmd=(aft)
else
  checkout="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  export PYTHONPATH="$checkout${PYTHONPATH:+:$PYTHONPATH}"
  cmd=("$AFT_PYTHON" -m aft_tui)
fi
cmd+=(tune)
if [ -n "$RESUME" ]; then cmd+=(--resume "$RESUME"); else cmd+=("$TARGET"); fi
cmd+=(--trials "$TRIALS")
[ -n "$METRIC" ] && cmd+=(--metric "$METRIC")
[ -n "$DIRECTION" ] && cmd+=(--direction "$DIRECTION")
[ -n "$PARAMS" ] && cmd+=(--params "$PARAMS")
[ -n "$STRATEGY" ] && cmd+=(--strategy "$STRATEGY")
[ -n "$TIMEOUT" ] && cmd+=(--timeout "$TIMEOUT")
[ -n "$BUDGET" ] && cmd+=(--budget "$BUDGET")
[ -n "$PYTHON" ] && cmd+=(--python "$PYTHON")
[ -n "$CONDA_ENV" ] && cmd+=(--conda "$CONDA_ENV")
[ -n "$VENV" ] && cmd+=(--venv "$VENV")
[ -n "$PREFIX" ] && cmd+=(--prefix "$PREFIX")
[ -n "$OUTPUTS" ] && cmd+=(--outputs "$OUTPUTS")
[ -n "$MLFLOW" ] && cmd+=(--mlflow "$MLFLOW")
[ -n "$MODEL" ] && cmd+=(--model "$MODEL")
[ "$YES" = "1" ] && cmd+=(--yes)
[ "$LOGS" = "1" ] && cmd+=(--logs)
cmd+=("$@")

if [ "$DRY_RUN" = "1" ]; then
  printf '%q ' "${cmd[@]}"
  echo
  exit 0
fi
exec "${cmd[@]}"
