"""`--mlflow URI`: AFT's trials appear as runs of a real MLflow store (SQLite), queried with MLflow's client."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from aft_tui.engine import events as ev
from aft_tui.errors import UserError
from aft_tui.tracking.mlflow_mirror import MlflowMirror, artifact_root, default_experiment, history_points
from tests.engine.helpers import aft, aft_env, results, session_ids

pytestmark = pytest.mark.slow


def test_aft_tune_records_each_trial_as_an_mlflow_run(git_project, tmp_path):
    pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient

    project = git_project("mlp_classifier.py")
    uri = f"sqlite:///{tmp_path / 'store' / 'mlruns.db'}"
    proc = aft(project, "tune", "mlp_classifier.py", "--trials", "2", "--metric", "val_acc", "--direction", "max",
               "--params", "lr", "--yes", "--mlflow", uri)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert "Mirroring trials to MLflow: experiment 'proj/mlp_classifier.py'" in proc.stdout.replace("\n", " ")
    assert "MLflow mirror:" not in proc.stdout  # no warning: every trial was recorded

    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("proj/mlp_classifier.py")
    assert experiment is not None
    runs = sorted(client.search_runs([experiment.experiment_id]), key=lambda r: int(r.data.tags["aft.trial"]))
    records = results(project)
    (sid,) = session_ids(project)
    assert len(runs) == len(records) == 2
    for run, record in zip(runs, records):
        assert run.info.run_name == record["run_id"]
        assert run.info.status == "FINISHED"
        assert run.data.params == {"lr": str(record["params"]["lr"])}
        tags = run.data.tags
        assert tags["aft.status"] == "ok" and tags["aft.session"] == sid and tags["aft.run_id"] == record["run_id"]
        assert tags["aft.commit"] == tags["mlflow.source.git.commit"] == record["commit"]
        assert tags["aft.metric"] == "val_acc" and tags["aft.direction"] == "max"
        history = client.get_metric_history(run.info.run_id, "val_acc")
        assert [m.step for m in history] == [1, 2, 3, 4, 5]  # step = epoch
        assert [m.value for m in history] == [row["val_acc"] for row in record["history"]]
        assert run.data.metrics["final_val_acc"] == record["value"]
        assert run.data.metrics["duration_s"] > 0
        log_name = Path(record["log"]).name
        assert [a.path for a in client.list_artifacts(run.info.run_id)] == [log_name]
        # Artifacts live beside the database, not in the folder AFT was started from.
        assert run.info.artifact_uri.startswith((tmp_path / "store" / "mlruns").as_uri())
    assert not (project / "mlruns").exists()


def test_without_mlflow_installed_the_run_stops_before_starting(git_project, tmp_path):
    project = git_project("mlp_classifier.py")
    blocker = tmp_path / "no_mlflow"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text("import sys\nsys.modules['mlflow'] = None  # as if not installed\n")
    env = aft_env()
    env["PYTHONPATH"] = f"{blocker}:{env['PYTHONPATH']}"
    proc = aft(project, "tune", "mlp_classifier.py", "--trials", "1", "--yes", "--mlflow", "sqlite:///mlruns.db",
               env=env)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.strip() == ("aft: --mlflow needs the mlflow package, which is not installed; run "
                                   "`pip install mlflow` or drop --mlflow.")
    assert session_ids(project) == []


def test_an_unusable_store_becomes_one_warning_and_never_an_exception(tmp_path):
    pytest.importorskip("mlflow")
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    warnings: list[str] = []
    mirror = MlflowMirror(f"sqlite:///{not_a_folder}/mlruns.db", "exp", "sid", lookup=lambda run_id: None,
                          warn=warnings.append)
    for number in (1, 2):
        mirror(ev.TrialStarted(run_id=f"sid-t00{number}", number=number, params={"lr": 0.1}))
        mirror(ev.TrialFinished(run_id=f"sid-t00{number}", number=number, status="ok", value=0.5))
    mirror.close(timeout=120)
    assert len(warnings) == 1, warnings
    assert warnings[0].startswith("MLflow mirror: could not open the experiment 'exp' in sqlite:///")
    assert warnings[0].endswith("tuning goes on.")
    assert mirror.mirrored == 0


def test_missing_mlflow_is_a_user_error(monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "mlflow", None)
    with pytest.raises(UserError, match="pip install mlflow"):
        MlflowMirror("sqlite:///x.db", "exp", "sid", lookup=lambda run_id: None, warn=print)


def test_history_points_use_the_epoch_as_step():
    rows = [
        {"epoch": 1.0, "step": 50, "val_loss": 0.9, "val_acc": 0.5},
        {"epoch": 1.5, "step": 75, "val_loss": float("nan"), "note": "text", "flag": True},
        {"epoch": 2, "val_loss": 0.7},
        {"validation": 0.8},  # a final print without epoch or step: its position
    ]
    points = history_points(rows)
    assert points[:2] == [("val_loss", 0.9, 1), ("val_acc", 0.5, 1)]
    name, value, step = points[2]
    assert (name, step) == ("val_loss", 75) and math.isnan(value)
    assert points[3:] == [("val_loss", 0.7, 2), ("validation", 0.8, 4)]


def test_experiment_name_and_artifact_root():
    assert default_experiment("/home/me/proj", "src/train.py") == "proj/src/train.py"
    assert artifact_root("sqlite:////data/mlflow/runs.db") == "file:///data/mlflow/mlruns"
    assert artifact_root("http://localhost:5000") is None
    assert artifact_root("sqlite:///:memory:") is None
