"""Commits per trial, tags, notes, rollback, reading history, resume and listing sessions."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from aft_tui.errors import UserError
from aft_tui.vcs.workspace import NOTES_REF, PARAMS_FILE, Workspace


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.fixture
def ws(user_repo: Path) -> Workspace:
    return Workspace.create(user_repo, "s1")


def test_one_commit_per_trial_with_tags_and_notes(ws: Workspace) -> None:
    shas = []
    for trial, lr in enumerate([0.1, 0.2, 0.2], start=1):
        sha = ws.commit_params({"lr": lr, "batch_size": 32}, f"trial {trial}: lr={lr}")
        ws.tag(ws.trial_tag(trial), sha)
        ws.add_note(sha, {"trial": trial, "status": "ok", "val_loss": 1.0 / trial, "history": [1, 2]})
        shas.append(sha)
    assert len(set(shas)) == 3  # the repeated choice still gets its own commit
    assert git(ws.path, "rev-parse", f"{shas[2]}^") == shas[1]
    assert git(ws.path, "rev-parse", f"{shas[2]}^{{tree}}") == git(ws.path, "rev-parse", f"{shas[1]}^{{tree}}")
    for trial, sha in enumerate(shas, start=1):
        assert git(ws.path, "rev-parse", f"refs/tags/aft/s1/trial-{trial}^{{commit}}") == sha
        assert ws.read_note(sha) == {"trial": trial, "status": "ok", "val_loss": 1.0 / trial, "history": [1, 2]}
    assert ws.params_at(shas[0]) == {"lr": 0.1, "batch_size": 32}
    # A checkout of the commit reproduces the trial's parameters.
    assert '"lr": 0.2' in (ws.project_path / PARAMS_FILE).read_text()
    # Notes overwrite, live under refs/notes/aft, and a commit without one reads as None.
    ws.add_note(shas[0], {"status": "failed"})
    assert ws.read_note(shas[0]) == {"status": "failed"}
    assert git(ws.path, "notes", f"--ref={NOTES_REF}", "list", shas[0])
    assert ws.read_note(ws.log(10)[-1]["sha"]) is None
    # Re-tagging moves the tag (a resumed trial).
    ws.tag(ws.trial_tag(1), shas[2])
    assert git(ws.path, "rev-parse", "refs/tags/aft/s1/trial-1^{commit}") == shas[2]
    with pytest.raises(UserError, match="Tag name"):
        ws.tag("bad..name", shas[0])
    with pytest.raises(UserError, match="No commit"):
        ws.tag("fine", "f" * 40)
    with pytest.raises(UserError, match="No commit"):
        ws.add_note("nope", {})


def test_commit_stages_only_the_given_files(ws: Workspace) -> None:
    (ws.project_path / "scratch.log").write_text("trial output\n")
    (ws.project_path / "model.bin").write_bytes(b"\x00\x01")
    sha = ws.commit("edit", files={"pkg/new.py": "X = 1\n", "blob.bin": b"\x00\xff"}, remove=["helper.py"])
    changed = git(ws.path, "diff-tree", "--no-commit-id", "--name-status", "-r", sha).splitlines()
    assert sorted(changed) == ["A\tblob.bin", "A\tpkg/new.py", "D\thelper.py"]
    assert not (ws.project_path / "helper.py").exists()
    assert (ws.project_path / "blob.bin").read_bytes() == b"\x00\xff"
    assert "scratch.log" in git(ws.path, "status", "--porcelain")
    # Files written earlier by another step can be staged by name.
    (ws.project_path / "train.py").write_text("LR = 9\n")
    sha2 = ws.commit("refactor", stage=["train.py"])
    assert ws.file_at(sha2, "train.py") == "LR = 9\n"
    # A second write of a known path goes through the one-process path and still commits it.
    sha_b = ws.commit("again", files={"blob.bin": b"\x01"})
    assert ws.file_at(sha_b, "blob.bin") == "\x01" and ws.head() == sha_b
    assert git(ws.path, "status", "--porcelain", "--untracked-files=no") == ""
    # Git-ignored names are committed too when AFT writes them on purpose.
    sha3 = ws.commit("ignored name", files={"grid.csv": "a\n"})
    assert ws.file_at(sha3, "grid.csv") == "a\n"


def test_commit_keeps_the_executable_bit(ws: Workspace) -> None:
    script = ws.project_path / "run.sh"
    ws.commit("add", files={"run.sh": "#!/bin/sh\n"})
    script.chmod(0o755)
    ws.commit("exec", stage=["run.sh"])
    sha = ws.commit("edit", files={"run.sh": "#!/bin/sh\necho hi\n"})
    assert os.access(script, os.X_OK)
    assert git(ws.path, "ls-tree", sha, "run.sh").startswith("100755")


@pytest.mark.parametrize("bad", ["../escape.py", "/etc/passwd", ".git/config", "a/../../b", "", "data/new.txt"])
def test_paths_outside_the_worktree_are_refused(ws: Workspace, bad: str) -> None:
    with pytest.raises(UserError):
        ws.commit("bad", files={bad: "x"})
    assert not (ws.project_dir / "data" / "new.txt").exists()


def test_rollback_adds_a_commit_with_the_old_tree(ws: Workspace) -> None:
    first = ws.commit_params({"lr": 0.1}, "trial 1")
    second = ws.commit("trial 2", files={PARAMS_FILE: '{"lr": 0.5}\n', "train.py": "LR = 0.5\n", "new.py": "N = 1\n"})
    back = ws.rollback(first, "roll back to trial 1")
    assert back not in (first, second)
    assert git(ws.path, "rev-parse", f"{back}^") == second
    assert git(ws.path, "rev-parse", f"{back}^{{tree}}") == git(ws.path, "rev-parse", f"{first}^{{tree}}")
    assert ws.head() == back
    assert not (ws.project_path / "new.py").exists()
    assert (ws.project_path / "train.py").read_text() == ws.file_at(first, "train.py")
    assert git(ws.path, "status", "--porcelain", "--untracked-files=no") == ""
    messages = [entry["message"] for entry in ws.log(4)]
    assert messages[:3] == ["roll back to trial 1", "trial 2", "trial 1"]
    with pytest.raises(UserError, match="No commit"):
        ws.rollback("0" * 40, "nothing")


def test_log_diff_and_file_at(ws: Workspace) -> None:
    a = ws.head()
    b = ws.commit("change lr\n\nlonger body", files={"train.py": "LR = 0.3\n"})
    entry = ws.log(1)[0]
    assert entry["sha"] == b and entry["message"] == "change lr\n\nlonger body" and "T" in entry["date"]
    assert len(ws.log(2)) == 2
    text = ws.diff(a, b)
    assert text.startswith("diff --git a/train.py b/train.py") and "+LR = 0.3" in text and text.endswith("\n")
    assert ws.diff(a, b, ["helper.py"]) == ""
    assert ws.diff(a, b, exclude=["train.py"]) == ""
    assert ws.file_at(b, "missing.py") is None
    assert ws.file_at(b, "train.py") == "LR = 0.3\n"
    with pytest.raises(UserError, match="No commit"):
        ws.diff("nope", b)


def test_open_recreates_a_deleted_worktree(ws: Workspace) -> None:
    sha = ws.commit_params({"lr": 0.4}, "trial 1")
    shutil.rmtree(ws.path)
    again = Workspace.open(ws.project_dir, "s1")
    assert again.path == ws.path and again.head() == sha
    assert again.params_at("HEAD") == {"lr": 0.4}
    assert (again.project_path / PARAMS_FILE).exists()
    assert os.path.islink(again.project_path / "data")
    assert again.repo.head.commit.hexsha == sha
    again.commit("after resume", files={"train.py": "LR = 1\n"})
    # Re-opening an intact worktree changes nothing.
    third = Workspace.open(ws.project_dir, "s1")
    assert third.head() == again.head()
    assert git(third.path, "worktree", "list").count("aft/s1") == 1


def test_list_sessions_and_remove_worktree(user_repo: Path) -> None:
    assert Workspace.list_sessions(user_repo) == []
    first = Workspace.create(user_repo, "a1")
    Workspace.create(user_repo, "b2")
    git(user_repo, "branch", "aft/foreign")  # not made by this project
    assert Workspace.list_sessions(user_repo) == ["a1", "b2"]
    first.remove_worktree()
    assert not first.path.exists()
    assert Workspace.list_sessions(user_repo) == ["a1", "b2"]
    assert git(user_repo, "rev-parse", "--verify", "refs/heads/aft/a1")
    with pytest.raises(UserError, match="missing"):
        first.commit("no worktree")
