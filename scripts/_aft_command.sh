# Shared by refactor.sh, finetune.sh and pipeline.sh: turns the variables each script sets at
# its top into an `aft` command line in the array `cmd`. Variables a script does not define
# count as empty.

# aft_command SUBCOMMAND [extra aft arguments...]
aft_command() {
  local sub="$1"
  shift
  if command -v aft >/dev/null 2>&1; then
    cmd=(aft)
  else
    local checkout
    checkout="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
    export PYTHONPATH="$checkout${PYTHONPATH:+:$PYTHONPATH}"
    cmd=("${AFT_PYTHON:-python3}" -m aft_tui)
  fi
  cmd+=("$sub")
  if [ -n "${RESUME:-}" ]; then cmd+=(--resume "$RESUME"); else cmd+=("$TARGET"); fi
  [ -n "${TRIALS:-}" ] && cmd+=(--trials "$TRIALS")
  [ -n "${METRIC:-}" ] && cmd+=(--metric "$METRIC")
  [ -n "${DIRECTION:-}" ] && cmd+=(--direction "$DIRECTION")
  [ -n "${PARAMS:-}" ] && cmd+=(--params "$PARAMS")
  [ -n "${STRATEGY:-}" ] && cmd+=(--strategy "$STRATEGY")
  [ -n "${TIMEOUT:-}" ] && cmd+=(--timeout "$TIMEOUT")
  [ -n "${BUDGET:-}" ] && cmd+=(--budget "$BUDGET")
  [ -n "${SMOKE:-}" ] && cmd+=(--smoke "$SMOKE")
  [ -n "${SMOKE_TIMEOUT:-}" ] && cmd+=(--smoke-timeout "$SMOKE_TIMEOUT")
  [ -n "${PYTHON:-}" ] && cmd+=(--python "$PYTHON")
  [ -n "${CONDA_ENV:-}" ] && cmd+=(--conda "$CONDA_ENV")
  [ -n "${VENV:-}" ] && cmd+=(--venv "$VENV")
  [ -n "${PREFIX:-}" ] && cmd+=(--prefix "$PREFIX")
  [ -n "${OUTPUTS:-}" ] && cmd+=(--outputs "$OUTPUTS")
  [ -n "${MLFLOW:-}" ] && cmd+=(--mlflow "$MLFLOW")
  [ -n "${MODEL:-}" ] && cmd+=(--model "$MODEL")
  [ "${YES:-0}" = "1" ] && cmd+=(--yes)
  [ "${LOGS:-0}" = "1" ] && cmd+=(--logs)
  cmd+=("$@")
  if [ "${DRY_RUN:-0}" = "1" ]; then
    printf '%q ' "${cmd[@]}"
    echo
    exit 0
  fi
}
