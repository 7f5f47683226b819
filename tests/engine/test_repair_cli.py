"""`aft repair` from the command line: a passing script needs nothing; a broken one is reported."""

from __future__ import annotations

from pathlib import Path

from tests.engine.helpers import aft

GOOD = 'LR = 0.1\nfor e in range(3):\n    print(f"epoch {e} val_loss: {LR / (e + 1)}")\n'
BROKEN = 'LR = 0.1\nraise RuntimeError("the dataset folder is missing")\n'


def test_repair_of_a_working_script_says_nothing_to_repair(git_project, tmp_path: Path):
    (tmp_path / "train.py").write_text(GOOD)
    project = git_project(tmp_path / "train.py")
    proc = aft(project, "repair", "train.py", "--yes")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Nothing to repair" in proc.stdout


def test_repair_of_a_script_aft_never_changed_explains(git_project, tmp_path: Path):
    (tmp_path / "train.py").write_text(BROKEN)
    project = git_project(tmp_path / "train.py")
    proc = aft(project, "repair", "train.py", "--yes")
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert "the dataset folder is missing" in proc.stdout
    assert "no change of AFT's to repair" in proc.stdout


def test_pipeline_on_a_script_that_fails_before_any_refactor(git_project, tmp_path: Path):
    (tmp_path / "train.py").write_text(BROKEN)
    project = git_project(tmp_path / "train.py")
    proc = aft(project, "pipeline", "train.py", "--yes")
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert "The original script fails too" in proc.stdout
