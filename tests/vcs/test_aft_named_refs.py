"""A branch or tag of the person's named `aft`: git cannot hold refs/heads/aft and
refs/heads/aft/<session> at once, so sessions move to aft-sessions/ and say so in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aft_tui.vcs.workspace import Workspace
from tests.engine.helpers import aft, results, script_project

SCRIPT = '''\
import argparse
p = argparse.ArgumentParser()
p.add_argument("--lr", type=float, default=0.01)
a = p.parse_args()
for e in (1, 2):
    print(f"epoch {e} val_loss: {abs(a.lr - 0.05) + 1.0 / e:.4f}", flush=True)
'''


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return script_project(tmp_path, SCRIPT)


@pytest.mark.parametrize("kind", ["branch", "tag"])
def test_sessions_work_beside_a_ref_named_aft(project: Path, run_git, kind: str):
    run_git(project, kind, "aft")
    proc = aft(project, "tune", "train.py", "--trials", "2", "--metric", "val_loss", "--direction", "min", "--yes")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "cannot lock ref" not in proc.stdout + proc.stderr and "Could not tag" not in proc.stdout
    said = " ".join(proc.stdout.split())
    assert f"This repository has a {kind} named 'aft', so the session's branch and tags are under aft-sessions/" in said
    runs = results(project)
    sid = runs[0]["session"]
    assert run_git(project, "branch", "--list", "aft-sessions/*").strip(" *+") == f"aft-sessions/{sid}"
    tags = run_git(project, "tag", "--list", "aft-sessions/*").splitlines()
    assert tags == [f"aft-sessions/{sid}/trial-001", f"aft-sessions/{sid}/trial-002"]
    assert [r["tag"] for r in runs] == tags
    # The person's own ref is untouched, and the session goes on as any other.
    assert run_git(project, "rev-parse", "aft") == run_git(project, "rev-parse", "main")
    proc = aft(project, "tune", "--resume", sid, "--trials", "3")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert len(results(project)) == 3
    assert aft(project, "compare", "1", "2").returncode == 0
    assert aft(project, "rollback", "1").returncode == 0


def test_sessions_made_before_the_prefix_was_recorded_still_open(project: Path, run_git):
    ws = Workspace.create(project, "s1")
    assert ws.branch == "aft/s1" and ws.prefix_note == ""
    meta_path = project / ".aft" / "vcs" / "s1.json"
    meta = json.loads(meta_path.read_text())
    del meta["prefix"]  # as an earlier version of AFT wrote it
    meta_path.write_text(json.dumps(meta))
    again = Workspace.open(project, "s1")
    assert again.branch == "aft/s1" and again.trial_tag("001") == "aft/s1/trial-001"
    assert Workspace.list_sessions(project) == ["s1"]


def test_a_moved_session_reopens_under_its_prefix(project: Path, run_git):
    run_git(project, "branch", "aft")
    ws = Workspace.create(project, "s2")
    assert ws.branch == "aft-sessions/s2" and "aft-sessions/" in ws.prefix_note
    sha = ws.commit("a change", {"notes.txt": "x\n"})
    ws.tag(ws.trial_tag("001"), sha)
    (project / ".aft" / "vcs" / "s2.json").unlink()  # even without its record, the branch tells
    ws.remove_worktree()
    again = Workspace.open(project, "s2")
    assert again.branch == "aft-sessions/s2" and again.head() == sha
    assert Workspace.list_sessions(project) == ["s2"]
