"""`aft pipeline`: the smoke run that proves the refactor ran the defaults, so it is trial 1.

Training the defaults twice (once as the smoke run, again as trial 1) costs a whole run; every
launch of the script is counted through a file it appends to.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import git
from tests.engine.helpers import aft, aft_env, results, session_ids

pytestmark = pytest.mark.slow

SCRIPT = '''\
import os

LR = 0.1
EPOCHS = 3

with open(os.environ["LAUNCHES"], "a") as f:
    f.write(f"lr={LR} epochs={EPOCHS}\\n")
loss = 1.0
for epoch in range(EPOCHS):
    loss = loss * (1 - LR) + abs(LR - 0.3) * 0.1
    print(f"epoch {epoch}: val_loss: {loss:.6f}")
'''


def _project(git_project, tmp_path: Path) -> Path:
    project = git_project(commit=False)
    (project / "train.py").write_text(SCRIPT)
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "initial")
    return project


def _launches(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def test_the_smoke_run_of_the_defaults_is_trial_1(git_project, tmp_path: Path):
    project = _project(git_project, tmp_path)
    launches = tmp_path / "launches.txt"
    proc = aft(project, "pipeline", "train.py", "--trials", "3", "--metric", "val_loss", "--yes",
               env=aft_env(LAUNCHES=str(launches)))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # One smoke run (no flags) and two tuning trials: the defaults were trained once.
    assert len(_launches(launches)) == 3, _launches(launches)
    assert _launches(launches)[0] == "lr=0.1 epochs=3"

    (sid,) = session_ids(project)
    runs = results(project)
    assert [r["number"] for r in runs] == [1, 2, 3]
    first = runs[0]
    assert first["status"] == "ok" and first["strategy"] == "defaults"
    # Its value is what the script printed last for the defaults.
    log = Path(first["log"])
    assert log.name == f"{sid}-t001.log" and log.is_file()
    last = [line for line in log.read_text().splitlines() if "val_loss" in line][-1]
    assert first["value"] == pytest.approx(float(last.rsplit(" ", 1)[1]))
    assert len(first["history"]) == 3
    assert "smoke run" in first["rationale"]
    # The smoke run's folder became trial 1's.
    outputs = project / "outputs"
    assert not list(outputs.glob(f"{sid}-smoke*"))
    assert (outputs / f"{sid}-t001").is_dir() and log.parent == outputs / f"{sid}-t001"

    # Trial 1 is still a commit with its parameters, tagged and noted like any other.
    branch = f"aft/{sid}"
    subjects = git(project, "log", "--format=%s", f"main..{branch}").splitlines()
    assert [s for s in subjects if s.startswith("trial ")][-1].startswith("trial 1:")
    params = json.loads(git(project, "show", f"aft/{sid}/trial-001:aft_params.json"))
    assert params["params"] == first["params"] and params["run_id"] == f"{sid}-t001"
    # The session log shows trial 1 starting, its curve and its end, like a run trial.
    events = [json.loads(line) for line in (project / ".aft" / "sessions" / f"{sid}.jsonl").read_text().splitlines()]
    kinds = [(e["kind"], e.get("run_id")) for e in events]
    assert ("trial_started", f"{sid}-t001") in kinds and ("trial_finished", f"{sid}-t001") in kinds
    assert sum(1 for k in kinds if k == ("trial_metric", f"{sid}-t001")) == 3
    assert sum(1 for k in kinds if k == ("analysis", f"{sid}-t001")) <= 1  # its analysis is said once
    logged = [line for e in events if e["kind"] == "trial_log" and e["run_id"] == f"{sid}-t001" for line in e["lines"]]
    assert logged == log.read_text().splitlines()  # a replay shows trial 1's output
    metadata = json.loads((outputs / "metadata.json").read_text())
    assert metadata["defaults_value"] == first["value"]
    # Optuna holds trial 1 with its curve, as if it had reported live: the pruner measures runs by it.
    import optuna

    from aft_tui.tuning.study import storage_for

    study = optuna.load_study(study_name=sid, storage=storage_for(project / ".aft"))
    trial_1 = study.trials[0]
    assert trial_1.value == first["value"]
    assert sorted(trial_1.intermediate_values) == [r["epoch"] for r in first["history"]] == [0, 1, 2]
    assert trial_1.intermediate_values[2] == first["value"]


def test_a_shortened_smoke_run_is_not_trial_1(git_project, tmp_path: Path):
    project = _project(git_project, tmp_path)
    launches = tmp_path / "launches.txt"
    proc = aft(project, "pipeline", "train.py", "--trials", "2", "--metric", "val_loss", "--yes",
               "--smoke", "--epochs 1", env=aft_env(LAUNCHES=str(launches)))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    runs = _launches(launches)
    # The smoke run with --epochs 1, then both trials run for real.
    assert len(runs) == 3 and runs[0] == "lr=0.1 epochs=1", runs
    first = results(project)[0]
    assert first["number"] == 1 and "smoke run" not in first["rationale"]


def test_without_a_metric_the_adopted_run_chooses_the_objective(git_project, tmp_path: Path):
    project = _project(git_project, tmp_path)
    launches = tmp_path / "launches.txt"
    proc = aft(project, "pipeline", "train.py", "--trials", "2", "--yes", env=aft_env(LAUNCHES=str(launches)))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert len(_launches(launches)) == 2
    runs = results(project)
    assert [r["metric"] for r in runs] == ["val_loss", "val_loss"]
    assert runs[0]["status"] == "ok" and runs[0]["direction"] == "min"
    assert "optimising val_loss" in proc.stdout + proc.stderr
    # Trial 1 was the first result, so it was the best when it was scored.
    sid = runs[0]["session"]
    events = [json.loads(line) for line in (project / ".aft" / "sessions" / f"{sid}.jsonl").read_text().splitlines()]
    assert any(e["kind"] == "best_updated" and e["run_id"] == f"{sid}-t001" for e in events)
