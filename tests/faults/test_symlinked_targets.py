"""A linked script or folder: the project is where the person stands, not where a link points.

Followed naively, `train.py -> /elsewhere/train.py` made /elsewhere the project: its `.aft/`
and `outputs/` were written there, and the session ran code AFT could not commit. A link that
leads out of the project is refused in one sentence naming it, its destination and the fix;
a link that stays inside the project keeps working.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import git
from tests.engine.helpers import aft, results

SCRIPT = '''\
import argparse
p = argparse.ArgumentParser()
p.add_argument("--lr", type=float, default=0.01)
p.add_argument("--epochs", type=int, default=2)
a = p.parse_args()
for e in range(1, a.epochs + 1):
    print(f"epoch {e} val_loss: {abs(a.lr - 0.05) + 1.0 / e:.4f}", flush=True)
'''


@pytest.fixture
def project(git_project) -> Path:
    return git_project()


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    folder = tmp_path / "elsewhere"
    (folder / "src").mkdir(parents=True)
    (folder / "train.py").write_text(SCRIPT)
    (folder / "src" / "train.py").write_text(SCRIPT)
    return folder


def _one_line_error(proc) -> str:
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("aft: ")
    return lines[0]


def _nothing_written(project: Path, elsewhere: Path) -> None:
    assert sorted(p.name for p in elsewhere.iterdir()) == ["src", "train.py"]
    assert sorted(p.name for p in (elsewhere / "src").iterdir()) == ["train.py"]
    assert not (project / "outputs").exists()
    assert not list((project / ".aft").glob("sessions/*.json"))
    assert git(project, "branch", "--list", "aft*") == ""


@pytest.mark.parametrize("committed", [True, False])
def test_a_script_linked_from_outside_is_refused(project: Path, elsewhere: Path, committed: bool):
    os.symlink(elsewhere / "train.py", project / "train.py")
    if committed:
        git(project, "add", "train.py")
        git(project, "commit", "-q", "-m", "link the training script")
    proc = aft(project, "pipeline", "train.py", "--trials", "1", "--yes")
    assert proc.returncode == 2
    line = _one_line_error(proc)
    assert "train.py is a link to" in line and str(elsewhere / "train.py") in line
    assert str(project) in line and "copy the script into the project" in line
    _nothing_written(project, elsewhere)


def test_a_folder_linked_from_outside_is_refused(project: Path, elsewhere: Path):
    os.symlink(elsewhere / "src", project / "src")
    git(project, "add", "src")
    git(project, "commit", "-q", "-m", "link the sources")
    proc = aft(project, "tune", "src/train.py", "--trials", "1", "--yes")
    assert proc.returncode == 2
    line = _one_line_error(proc)
    assert "lies in src, a link to" in line and str(elsewhere / "src") in line
    assert "copy src into the project" in line
    _nothing_written(project, elsewhere)


def test_a_folder_linked_from_outside_is_refused_by_absolute_path(project: Path, elsewhere: Path):
    """The typed path decides, relative or absolute, committed link or not."""
    os.symlink(elsewhere / "src", project / "src")
    proc = aft(project, "tune", str(project / "src" / "train.py"), "--trials", "1", "--yes")
    assert proc.returncode == 2
    assert str(elsewhere / "src") in _one_line_error(proc)
    _nothing_written(project, elsewhere)


def test_links_that_stay_inside_the_project_still_work(project: Path):
    (project / "scripts").mkdir()
    (project / "scripts" / "real.py").write_text(SCRIPT)
    os.symlink(Path("scripts") / "real.py", project / "train.py")  # relative, committed: the usual alias
    os.symlink("scripts", project / "lib")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "aliases")
    proc = aft(project, "tune", "train.py", "--trials", "1", "--metric", "val_loss", "--direction", "min", "--yes")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = aft(project, "tune", "lib/real.py", "--trials", "1", "--metric", "val_loss", "--direction", "min", "--yes")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    runs = results(project)
    assert [r["status"] for r in runs] == ["ok", "ok"]
    assert (project / ".aft" / "sessions").is_dir() and len(list((project / ".aft" / "sessions").glob("*.json"))) == 2
    # The file that runs is the one in the project; nothing was written next to it.
    assert sorted(p.name for p in (project / "scripts").iterdir()) == ["real.py"]
