"""A project that is not a git repository gets a private one under .aft/repo; the project stays as it was."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from aft_tui.vcs.snapshot import MAX_SNAPSHOT_BYTES
from aft_tui.vcs.workspace import Workspace


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture
def plain_project(tmp_path: Path) -> Path:
    root = tmp_path / "plain"
    (root / "pkg").mkdir(parents=True)
    (root / "train.py").write_text("from pkg import model\nprint(open('data/x.txt').read())\n")
    (root / "run.sh").write_text("#!/bin/sh\npython train.py\n")
    (root / "run.sh").chmod(0o755)
    (root / "pkg" / "model.py").write_text("SIZE = 3\n")
    (root / "pkg" / "__pycache__").mkdir()
    (root / "pkg" / "__pycache__" / "model.cpython-311.pyc").write_bytes(b"\x00")
    (root / "data").mkdir()
    (root / "data" / "x.txt").write_text("data\n")
    with open(root / "data" / "huge.bin", "wb") as handle:  # sparse: instant, no disk used
        handle.truncate(MAX_SNAPSHOT_BYTES + 1)
    with open(root / "weights.bin", "wb") as handle:
        handle.truncate(MAX_SNAPSHOT_BYTES + 1)
    (root / ".venv" / "bin").mkdir(parents=True)
    (root / ".venv" / "pyvenv.cfg").write_text("home = /usr\n")
    (root / "outputs").mkdir()
    (root / "outputs" / "model.pt").write_bytes(b"w")
    (root / ".git-like").write_text("kept\n")
    return root


def test_private_repository_leaves_the_project_untouched(plain_project: Path, hash_tree) -> None:
    before = hash_tree(plain_project, {".aft"})
    ws = Workspace.create(plain_project, "s1")
    assert ws.private and ws.subdir == ""
    assert (plain_project / ".aft" / "repo" / "HEAD").exists()
    assert not (plain_project / ".git").exists()
    assert ws.path == plain_project / ".aft" / "worktrees" / "s1"

    tree = sorted(git(ws.path, "ls-tree", "-r", "--name-only", "HEAD").splitlines())
    assert tree == [".git-like", "data/x.txt", "pkg/model.py", "run.sh", "train.py"]
    assert git(ws.path, "ls-tree", "HEAD", "run.sh").startswith("100755")
    # Large files and the virtual environment are linked; outputs are neither copied nor linked.
    assert os.readlink(ws.path / "weights.bin") == str(plain_project / "weights.bin")
    assert os.readlink(ws.path / "data" / "huge.bin") == str(plain_project / "data" / "huge.bin")
    assert os.readlink(ws.path / ".venv") == str(plain_project / ".venv")
    assert not os.path.lexists(ws.path / "outputs")
    assert not os.path.lexists(ws.path / "pkg" / "__pycache__")

    first = ws.commit_params({"lr": 0.1}, "trial 1")
    ws.tag(ws.trial_tag(1), first)
    ws.add_note(first, {"val_loss": 0.3})
    assert ws.read_note(first) == {"val_loss": 0.3}
    ws.commit("refactor", files={"train.py": "print(2)\n"})
    ws.rollback(first, "back")
    assert ws.repo.head.commit.hexsha == ws.head()
    assert hash_tree(plain_project, {".aft"}) == before


def test_private_sessions_share_one_repository_and_resume(plain_project: Path) -> None:
    a = Workspace.create(plain_project, "a")
    b = Workspace.create(plain_project, "b")
    sha = b.commit("trial", files={"train.py": "print(3)\n"})
    b.repo.git.branch(b.branch + "-final", sha)  # what `aft research finalize` makes: not a session
    assert Workspace.list_sessions(plain_project) == ["a", "b"]
    assert a.head() != sha
    b.remove_worktree()
    again = Workspace.open(plain_project, "b")
    assert again.private and again.head() == sha
    assert (again.path / "train.py").read_text() == "print(3)\n"
    assert os.path.islink(again.path / "weights.bin")


def test_custom_state_directory(plain_project: Path, tmp_path: Path) -> None:
    state = tmp_path / "elsewhere"
    ws = Workspace.create(plain_project, "s1", state_dir=state)
    assert ws.path == state / "worktrees" / "s1"
    assert (state / ".gitignore").read_text() == "*\n"
    assert not (plain_project / ".aft").exists()
    assert Workspace.list_sessions(plain_project, state_dir=state) == ["s1"]
    assert Workspace.open(plain_project, "s1", state_dir=state).head() == ws.head()
