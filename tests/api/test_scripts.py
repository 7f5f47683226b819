"""scripts/*.sh: thin wrappers over `aft`, run as a person who prefers editing a shell script would."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT
from tests.engine.helpers import aft_env, results

SCRIPTS = ROOT / "scripts"


def run_script(name: str, cwd, timeout: float = 240, **variables: str) -> subprocess.CompletedProcess:
    env = aft_env(AFT_PYTHON=sys.executable, **variables)
    return subprocess.run(["bash", str(SCRIPTS / name)], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)


@pytest.mark.parametrize("name", ["refactor.sh", "finetune.sh", "pipeline.sh"])
def test_scripts_are_valid_bash_and_executable(name):
    path = SCRIPTS / name
    assert path.stat().st_mode & 0o111, f"{name} is not executable"
    subprocess.run(["bash", "-n", str(path)], check=True)


def test_variables_become_aft_flags(tmp_path):
    proc = run_script("pipeline.sh", tmp_path, DRY_RUN="1", TARGET="target.py", TRIALS="3", METRIC="val_accuracy",
                      PARAMS="learning_rate,epochs", SMOKE="--epochs 1", CONDA_ENV="train-env", MLFLOW="sqlite:///m.db")
    assert proc.returncode == 0, proc.stderr
    # `aft` when installed, else `python -m aft_tui` from this checkout.
    assert proc.stdout.split()[0] in ("aft", sys.executable)
    line = proc.stdout[proc.stdout.index(" pipeline "):]
    for expected in ("target.py", "--trials 3", "--metric val_accuracy", "--params learning_rate\\,epochs",
                     "--smoke --epochs\\ 1", "--conda train-env", "--mlflow sqlite:///m.db", "--yes"):
        assert expected in line, (expected, line)
    proc = run_script("refactor.sh", tmp_path, DRY_RUN="1", TARGET="train.py")
    assert _subcommand(proc.stdout) == ["refactor", "train.py"]  # asks before applying unless YES=1
    proc = run_script("finetune.sh", tmp_path, DRY_RUN="1", RESUME="20260101-000000-abc", YES="0")
    assert _subcommand(proc.stdout) == ["tune", "--resume", "20260101-000000-abc", "--trials", "8"]


def _subcommand(line: str) -> list[str]:
    words = line.split()
    start = next(i for i, w in enumerate(words) if w in ("tune", "refactor", "pipeline"))
    return words[start:]


@pytest.mark.slow
def test_finetune_sh_runs_a_trial_end_to_end(git_project):
    project = git_project("mlp_classifier.py")
    proc = run_script("finetune.sh", project, TARGET="mlp_classifier.py", TRIALS="1", METRIC="val_acc", PARAMS="lr")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Finished 1 trial(s)" in proc.stdout
    (record,) = results(project)
    assert record["status"] == "ok" and record["metric"] == "val_acc"
    metadata = json.loads((project / "outputs" / "metadata.json").read_text())
    assert metadata["best_run"] == record["run_id"]
