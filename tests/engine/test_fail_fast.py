"""Failing fast: a broken baseline or a repeated failure stops the session with one sentence."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.engine.helpers import aft as _aft, aft_env, results, session_ids

pytestmark = pytest.mark.slow

HEAD = '''\
import argparse, os
p = argparse.ArgumentParser()
p.add_argument("--lr", type=float, default=0.01)
p.add_argument("--epochs", type=int, default=2)
a = p.parse_args()
'''
TRAIN = '''\
for e in range(1, a.epochs + 1):
    print(f"epoch {e} val_loss: {abs(a.lr - 0.05) + 1.0 / e:.4f}", flush=True)
'''


def _project(git_project, tmp_path: Path, body: str, toml: str = "") -> Path:
    src = tmp_path / "src" / "train.py"
    src.parent.mkdir()
    src.write_text(HEAD + body)
    project = git_project(src)
    if toml:
        (project / "aft.toml").write_text(toml)
    return project


def aft(project: Path, *args: str):
    # Wide enough that each printed sentence stays on one line.
    return _aft(project, *args, env=aft_env(COLUMNS="2000"))


def _trial_folders(project: Path) -> list[Path]:
    (sid,) = session_ids(project)
    return sorted(p for p in (project / "outputs").glob(f"{sid}-t*") if p.is_dir())


def _errors(proc) -> list[str]:
    return [line for line in proc.stdout.splitlines() if line.startswith("Error: ")]


def test_missing_module_stops_after_trial_one(git_project, tmp_path: Path):
    project = _project(git_project, tmp_path, "import aft_absent_dependency\n" + TRAIN)
    proc = aft(project, "tune", "train.py", "--trials", "8", "--yes")
    assert proc.returncode != 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    errors = _errors(proc)
    assert len(errors) == 1, proc.stdout
    assert "aft_absent_dependency" in errors[0]
    assert f"{sys.executable} -m pip install aft_absent_dependency" in errors[0]
    assert "Trial 1, the script's own configuration, failed" in errors[0]
    assert len(_trial_folders(project)) == 1
    (run,) = results(project)
    assert run["status"] == "failed" and "ModuleNotFoundError" in run["reason"]
    assert run["diagnosis"]["kind"] == "missing_module"


def test_missing_data_file_names_the_path_and_the_folder(git_project, tmp_path: Path):
    project = _project(git_project, tmp_path, "open('data/train.csv').read()\n" + TRAIN)
    proc = aft(project, "tune", "train.py", "--trials", "8", "--metric", "val_loss", "--yes")
    assert proc.returncode != 0
    (error,) = _errors(proc)
    assert "'data/train.csv'" in error
    (sid,) = session_ids(project)
    worktree = project / ".aft" / "worktrees" / sid
    assert str(worktree) in error and str(project) in error
    assert "-- --data" in error
    assert len(_trial_folders(project)) == 1


def test_failures_for_some_values_keep_going(git_project, tmp_path: Path):
    # A learning rate above 0.1 diverges: a property of the values tried, not of the script.
    body = ('for e in range(1, a.epochs + 1):\n'
            '    v = float("nan") if a.lr > 0.1 else abs(a.lr - 0.05) + 1.0 / e\n'
            '    print(f"epoch {e} val_loss: {v}", flush=True)\n')
    toml = "[search.lr]\nlow = 0.001\nhigh = 1.0\nlog = true\n[search.epochs]\nfixed = 2\n"
    project = _project(git_project, tmp_path, body, toml)
    proc = aft(project, "tune", "train.py", "--trials", "8", "--metric", "val_loss", "--strategy", "random",
               "--seed", "3", "--yes")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    runs = results(project)
    assert len(runs) == 8, [(r["number"], r["status"], r["reason"]) for r in runs]
    statuses = [r["status"] for r in runs]
    assert statuses.count("failed") >= 3, statuses  # failures that did not stop the session
    assert not _errors(proc)


def test_the_same_failure_three_times_in_a_row_stops(git_project, tmp_path: Path):
    # Trial 1 creates its output folder; every later trial finds it there and fails the same way.
    body = 'os.makedirs("exp_out")\n' + TRAIN
    project = _project(git_project, tmp_path, body)
    proc = aft(project, "tune", "train.py", "--trials", "8", "--metric", "val_loss", "--yes")
    runs = results(project)
    assert [r["status"] for r in runs] == ["ok", "failed", "failed", "failed"], proc.stdout
    assert proc.returncode == 1  # stopped by failures: not a success, even after trial 1 worked
    (error,) = _errors(proc)
    assert "3 trials in a row failed the same way" in error
    assert "FileExistsError" in error
    assert len(_trial_folders(project)) == 4


def test_pipeline_with_a_missing_module_does_not_repair(git_project, tmp_path: Path):
    src = tmp_path / "src" / "train.py"
    src.parent.mkdir()
    src.write_text("import aft_absent_dependency\nlr = 0.01\nepochs = 2\n"
                   "for e in range(1, epochs + 1):\n"
                   "    print(f'epoch {e} val_loss: {abs(lr - 0.05) + 1.0 / e:.4f}', flush=True)\n")
    project = git_project(src)
    proc = aft(project, "pipeline", "train.py", "--trials", "4", "--yes")
    assert proc.returncode != 0
    errors = _errors(proc)
    assert len(errors) == 1, proc.stdout
    assert "pip install aft_absent_dependency" in errors[0]
    (sid,) = session_ids(project)
    runs = sorted(p.name for p in (project / "outputs").iterdir() if p.name.startswith(sid))
    assert runs == [f"{sid}-smoke1"], runs  # no run of the original, no bisection, no trial
    assert "Repair" not in proc.stdout and "bisect" not in proc.stdout


def test_resume_after_the_fix_runs_the_baseline_again(git_project, tmp_path: Path):
    project = _project(git_project, tmp_path, "import aft_absent_dependency\n" + TRAIN)
    proc = aft(project, "tune", "train.py", "--trials", "3", "--metric", "val_loss", "--yes")
    assert proc.returncode != 0 and len(results(project)) == 1
    (sid,) = session_ids(project)
    # The person installs the package (here: puts it on the path) and resumes.
    site = tmp_path / "site"
    site.mkdir()
    (site / "aft_absent_dependency.py").write_text("")
    env = aft_env(COLUMNS="2000")
    env["PYTHONPATH"] = str(site) + ":" + env["PYTHONPATH"]
    resumed = _aft(project, "tune", "--resume", sid, env=env)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    runs = results(project)
    assert [r["status"] for r in runs] == ["failed", "ok", "ok"], [(r["status"], r["reason"]) for r in runs]
    assert runs[1]["strategy"] == "defaults" and runs[1]["params"] == runs[0]["params"]


def test_an_exception_whose_message_floods_the_log_is_still_named(git_project, tmp_path: Path):
    # The exception's own line is followed by 300 lines of its message (a tensor dump), far more
    # than the tail AFT keeps of every run: the cause must still be found in the log.
    dump = ("rows = '\\n'.join(f'        [nan, nan],  # row {i}' for i in range(300))\n"
            "raise ValueError('Expected parameter logits to satisfy the constraint, but found invalid values:\\n' + rows)\n")
    project = _project(git_project, tmp_path, TRAIN + dump)
    proc = aft(project, "tune", "train.py", "--trials", "4", "--metric", "val_loss", "--yes")
    (error,) = _errors(proc)
    assert "ValueError: Expected parameter logits to satisfy the constraint" in error, error
    (run,) = results(project)
    assert "ValueError: Expected parameter logits" in run["reason"]
