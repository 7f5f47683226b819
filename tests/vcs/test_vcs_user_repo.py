"""A person's repository is never modified: working copy, index, HEAD, branch, refs and config."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from aft_tui.errors import UserError
from aft_tui.vcs.workspace import Workspace


def git(cwd: Path, *args: str, check: bool = True) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    if check and done.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {done.stderr}")
    return done.stdout.strip()


def exercise(ws: Workspace) -> None:
    """The things a tuning session does to its workspace."""
    first = ws.commit_params({"lr": 0.1}, "trial 1")
    ws.tag(ws.trial_tag(1), first)
    ws.add_note(first, {"status": "ok", "val_loss": 0.5})
    ws.commit("refactor", files={"train.py": "LR = 0.2\n"}, remove=["helper.py"])
    second = ws.commit_params({"lr": 0.2}, "trial 2")
    ws.add_note(second, {"status": "ok", "val_loss": 0.4})
    ws.rollback(first, "roll back to trial 1")
    ws.remove_worktree()
    Workspace.open(ws.project_dir, ws.session_id)


def dirty(root: Path) -> None:
    (root / "train.py").write_text("import helper\nLR = 0.5  # edited, not committed\n")
    (root / "notes.md").write_text("untracked but not ignored\n")
    (root / "helper.py").write_text("VALUE = 2\n")
    git(root, "add", "helper.py")  # staged ...
    (root / "helper.py").write_text("VALUE = 3\n")  # ... then edited again


def test_dirty_repo_is_untouched_and_snapshot_holds_the_working_copy(user_repo: Path, snapshot_of) -> None:
    fingerprint = snapshot_of
    dirty(user_repo)
    (user_repo / "removed.txt").write_text("x\n")
    git(user_repo, "add", "removed.txt")
    git(user_repo, "commit", "-q", "-m", "add removed.txt")
    (user_repo / "removed.txt").unlink()  # deleted in the working copy, not staged
    before = fingerprint(user_repo)

    ws = Workspace.create(user_repo, "s1")
    wt = ws.project_path
    assert (wt / "train.py").read_text() == (user_repo / "train.py").read_text()
    assert (wt / "helper.py").read_text() == "VALUE = 3\n"
    assert (wt / "notes.md").read_text() == "untracked but not ignored\n"
    assert not os.path.lexists(wt / "removed.txt")
    assert git(wt, "rev-parse", "HEAD~1") == before["head"]
    assert git(wt, "symbolic-ref", "HEAD") == "refs/heads/aft/s1"
    assert "notes.md" in git(wt, "ls-tree", "--name-only", "HEAD")
    # Ignored data is linked, not committed.
    assert os.path.islink(wt / "data") and os.path.islink(wt / "extra.csv")
    assert "data" not in git(wt, "ls-tree", "--name-only", "HEAD").split()

    exercise(ws)
    assert fingerprint(user_repo) == before
    assert (user_repo / ".aft" / ".gitignore").read_text() == "*\n"


def test_detached_head_is_untouched(user_repo: Path, snapshot_of) -> None:
    fingerprint = snapshot_of
    (user_repo / "helper.py").write_text("VALUE = 9\n")
    git(user_repo, "commit", "-q", "-am", "second")
    git(user_repo, "checkout", "-q", "--detach", "HEAD~1")
    (user_repo / "train.py").write_text("LR = 0.3\n")
    before = fingerprint(user_repo)
    assert before["branch"] == ""

    ws = Workspace.create(user_repo, "s1")
    assert git(ws.path, "rev-parse", "HEAD~1") == before["head"]
    assert (ws.path / "helper.py").read_text() == "VALUE = 1\n"
    exercise(ws)
    assert fingerprint(user_repo) == before


def test_repository_without_commits_is_untouched(tmp_path: Path, snapshot_of) -> None:
    fingerprint = snapshot_of
    root = tmp_path / "fresh"
    root.mkdir()
    git(root, "init", "-q")
    (root / "train.py").write_text("LR = 0.1\n")
    (root / "helper.py").write_text("VALUE = 1\n")
    git(root, "add", "helper.py")
    before = fingerprint(root)
    assert before["head"] == ""

    ws = Workspace.create(root, "s1")
    assert git(ws.path, "rev-list", "--count", "HEAD") == "1"
    assert sorted(git(ws.path, "ls-tree", "--name-only", "HEAD").split()) == ["helper.py", "train.py"]
    ws.commit("trial", files={"helper.py": "VALUE = 2\n"})
    ws.remove_worktree()
    assert fingerprint(root) == before


def test_project_in_a_subdirectory(tmp_path: Path, snapshot_of, new_repo) -> None:
    fingerprint, make_repo = snapshot_of, new_repo
    root = tmp_path / "mono"
    project = root / "services" / "trainer"
    make_repo(project)
    # Turn it into a subdirectory of a larger repository.
    import shutil

    shutil.rmtree(project / ".git")
    (root / "README.md").write_text("mono\n")
    (root / "shared.py").write_text("X = 1\n")
    git(root, "init", "-q")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "mono")
    (project / "train.py").write_text("LR = 0.7\n")
    before = fingerprint(root)

    ws = Workspace.create(project, "s1")
    assert ws.subdir == "services/trainer"
    assert ws.project_path == ws.path / "services" / "trainer"
    assert (ws.project_path / "train.py").read_text() == "LR = 0.7\n"
    assert (ws.path / "shared.py").exists()  # the whole repository is there for imports
    assert os.path.islink(ws.project_path / "data")
    assert os.readlink(ws.project_path / "data") == str(project / "data")

    a = ws.head()
    b = ws.commit("trial", files={"train.py": "LR = 0.8\n", "cfg/params.json": "{}\n"})
    assert (ws.path / "services/trainer/cfg/params.json").exists()
    assert ws.file_at(b, "train.py") == "LR = 0.8\n"
    assert ws.file_at(a, "cfg/params.json") is None
    text = ws.diff(a, b)
    assert "--- a/train.py" in text and "+++ b/cfg/params.json" in text
    assert ws.diff(a, b, ["cfg/params.json"]).count("diff --git") == 1
    exercise(ws)
    assert fingerprint(root) == before
    assert Workspace.list_sessions(project) == ["s1"]
    assert Workspace.list_sessions(root) == []  # another project's sessions are not listed


def test_fingerprint_notices_every_kind_of_change(user_repo: Path, snapshot_of) -> None:
    base = snapshot_of(user_repo)
    (user_repo / "helper.py").write_text("VALUE = 5\n")
    edited = snapshot_of(user_repo)
    assert edited["files"] != base["files"] and edited["status"] != base["status"]
    git(user_repo, "add", "helper.py")
    staged = snapshot_of(user_repo)
    assert staged["index"] != edited["index"]
    git(user_repo, "checkout", "-q", "-b", "other")
    assert snapshot_of(user_repo)["branch"] != staged["branch"]


def test_data_links_let_a_script_read_relative_paths_and_survive_cleanup(user_repo: Path) -> None:
    ws = Workspace.create(user_repo, "s1")
    (user_repo / "outputs").mkdir()
    assert not os.path.lexists(ws.project_path / "outputs")
    done = subprocess.run(
        [sys.executable, "-c", "print(open('data/train.txt').read().strip(), open('extra.csv').read().count(','))"],
        cwd=ws.project_path, capture_output=True, text=True,
    )
    assert done.stdout.split() == ["rows", "2"]
    ws.remove_worktree()
    assert not os.path.lexists(ws.path)
    assert (user_repo / "data" / "train.txt").read_text() == "rows\n"
    assert (user_repo / "extra.csv").exists()


def test_outputs_and_state_are_kept_out_of_the_snapshot(user_repo: Path) -> None:
    (user_repo / "outputs").mkdir()
    (user_repo / "outputs" / "model.pt").write_bytes(b"weights")
    (user_repo / "run.log").write_text("not ignored\n")
    ws = Workspace.create(user_repo, "s1")
    tree = git(ws.path, "ls-tree", "-r", "--name-only", "HEAD").split()
    assert "run.log" in tree
    assert not any(p.startswith(("outputs", ".aft")) for p in tree)


def test_nested_repositories_and_custom_outputs_are_linked_or_skipped(user_repo: Path) -> None:
    inner = user_repo / "vendor" / "lib"
    inner.mkdir(parents=True)
    git(inner, "init", "-q")
    (inner / "code.py").write_text("Z = 1\n")
    (user_repo / "vendor" / "keep.py").write_text("K = 1\n")
    (user_repo / "runs").mkdir()
    (user_repo / "runs" / "r1.log").write_text("log\n")
    ws = Workspace.create(user_repo, "s1", exclude=["runs"])
    tree = git(ws.path, "ls-tree", "-r", "--name-only", "HEAD").split()
    assert "vendor/keep.py" in tree and not any(p.startswith(("vendor/lib", "runs")) for p in tree)
    assert os.readlink(ws.path / "vendor" / "lib") == str(inner)
    assert (ws.path / "vendor" / "lib" / "code.py").read_text() == "Z = 1\n"
    assert not os.path.lexists(ws.path / "runs")
    ws.remove_worktree()
    again = Workspace.open(user_repo, "s1")
    assert os.path.islink(again.path / "vendor" / "lib") and not os.path.lexists(again.path / "runs")
    assert (inner / "code.py").exists()


def test_user_hooks_do_not_run_on_aft_commits(user_repo: Path) -> None:
    marker = user_repo.parent / "hook-ran"
    for hook in ("post-commit", "pre-commit", "post-checkout", "commit-msg"):
        path = user_repo / ".git" / "hooks" / hook
        path.write_text(f"#!/bin/sh\necho {hook} >> '{marker}'\nexit 1\n")
        path.chmod(0o755)
    ws = Workspace.create(user_repo, "s1")
    ws.commit("trial", files={"train.py": "LR = 1\n"})
    ws.rollback(ws.head(), "again")
    assert not marker.exists()


def test_missing_identity_falls_back_to_aft(user_repo: Path, isolated_git: Path) -> None:
    isolated_git.write_text("[init]\n\tdefaultBranch = main\n")
    ws = Workspace.create(user_repo, "s1")
    sha = ws.commit("trial", files={"train.py": "LR = 2\n"})
    assert git(ws.path, "log", "-1", "--format=%an <%ae>", sha) == "AFT <aft@localhost>"


def test_existing_session_and_bad_ids_are_refused(user_repo: Path) -> None:
    Workspace.create(user_repo, "s1")
    with pytest.raises(UserError, match="already"):
        Workspace.create(user_repo, "s1")
    for bad in ("", "a/b", "../x", "x.lock", "-x", "a b"):
        with pytest.raises(UserError, match="Session id"):
            Workspace.create(user_repo, bad)
    with pytest.raises(UserError, match="No AFT session"):
        Workspace.open(user_repo, "nope")
    with pytest.raises(UserError, match="does not exist"):
        Workspace.create(user_repo / "missing", "s2")


def test_ignored_project_directory_gets_a_private_repository(tmp_path: Path) -> None:
    home = tmp_path / "dotfiles"
    home.mkdir()
    git(home, "init", "-q")
    (home / ".gitignore").write_text("*\n!.gitignore\n")
    git(home, "add", ".gitignore")
    git(home, "commit", "-q", "-m", "dotfiles")
    project = home / "work" / "proj"
    project.mkdir(parents=True)
    (project / "train.py").write_text("LR = 1\n")
    ws = Workspace.create(project, "s1")
    assert ws.private
    assert (ws.project_path / "train.py").read_text() == "LR = 1\n"
    assert git(home, "branch", "--list", "aft/*") == ""
