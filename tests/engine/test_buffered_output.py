"""`--buffered-output`: trials run without `python -u`, so Python block-buffers their output."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import git
from tests.engine.helpers import aft, results

SCRIPT = '''\
import argparse
import io
import sys

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, default=0.1)
args = parser.parse_args()
print(f"stdout unbuffered: {isinstance(sys.stdout.buffer, io.FileIO)}")
print(f"val_loss: {abs(args.lr - 0.05):.4f}")
'''


def _project(git_project) -> Path:
    project = git_project(commit=False)
    (project / "train.py").write_text(SCRIPT)
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "initial")
    return project


def test_trials_are_unbuffered_by_default_and_buffered_on_request(git_project):
    project = _project(git_project)
    proc = aft(project, "tune", "train.py", "--trials", "1", "--metric", "val_loss", "--yes")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = aft(project, "tune", "train.py", "--trials", "1", "--metric", "val_loss", "--yes", "--buffered-output")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "block-buffered" in proc.stdout
    live, buffered = results(project)
    assert "-u" in live["command"] and "-u" not in buffered["command"]
    logs = [(project / "outputs" / r["run_id"] / f"{r['run_id']}.log").read_text() for r in (live, buffered)]
    assert "stdout unbuffered: True" in logs[0] and "stdout unbuffered: False" in logs[1]
    assert live["value"] == buffered["value"] == 0.05
