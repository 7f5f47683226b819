"""`aft research finalize`: a clean branch of the kept changes, built without touching the person's
working copy, index or current branch, on real git repositories."""

from __future__ import annotations

from pathlib import Path

import pytest

from aft_tui.engine.research.finalize import finalize
from aft_tui.errors import UserError
from tests.engine.helpers import tree_fingerprint
from tests.engine.research.session_shape import (KEPT_1, KEPT_2, SETUP_LINE, SID, build_session, git, person_tree,
                                                 write_project)

FINAL = f"aft/{SID}-final"


@pytest.fixture
def project(git_project) -> Path:
    folder = git_project(commit=False)
    write_project(folder)
    git(folder, "add", "-A")
    git(folder, "commit", "-q", "-m", "the person's project")
    return folder


def _commits(repo: Path, origin: str, branch: str, *git_dir: str) -> list[str]:
    return git(repo, *git_dir, "log", "--reverse", "--format=%H", f"{origin}..{branch}").splitlines()


def test_finalize_makes_one_commit_for_the_set_up_and_one_per_kept_code_change(project: Path):
    shape = build_session(project)
    result = finalize(project, None)
    assert result.branch == FINAL and result.repository == project and not result.private
    shas = _commits(project, shape.origin, FINAL)
    assert shas == [c.sha for c in result.commits] and result.head == shas[-1]
    assert git(project, "rev-parse", f"{shas[0]}^") == shape.origin  # it starts at the original snapshot
    assert [(c.experiment, c.files) for c in result.commits] == [(None, ["train.py"]), (4, ["train.py"]),
                                                                  (7, ["model.py"])]
    messages = [git(project, "log", "-1", "--format=%B", sha) for sha in shas]
    assert messages[0].startswith("AFT's set-up for research\n") and "- AFT: time-budget check" in messages[0]
    assert messages[1].startswith("Warm up the learning rate (experiment #4)\n")
    assert "val_loss 0.45 -> 0.4 (0.05 better, 11.1%), research experiment #4" in messages[1]
    assert messages[2].startswith("Wider model (experiment #7)\n")
    assert "val_loss 0.4 -> 0.35 (0.05 better, 12.5%), research experiment #7" in messages[2]
    # Each commit is exactly its change.
    assert "aft_params.json" in git(project, "diff", "--name-only", shape.origin, shape.base)
    assert git(project, "diff", shape.origin, shas[0]) == git(project, "diff", shape.origin, shape.base, "--", ".",
                                                               ":(exclude)aft_params.json")
    assert f"+{SETUP_LINE.strip()}" in git(project, "show", shas[0])
    for sha, number in ((shas[1], 4), (shas[2], 7)):
        code = shape.code[number]
        assert git(project, "diff", f"{sha}^", sha) == git(project, "diff", f"{code}^", code)
    assert f"+{KEPT_1.strip()}" in git(project, "show", shas[1])
    assert f"+{KEPT_2.strip()}" in git(project, "show", shas[2])
    # No parameter file anywhere, and the tree is the session head's for the person's files.
    touched = git(project, "log", "--format=", "--name-only", f"{shape.origin}..{FINAL}").split()
    assert "aft_params.json" not in touched
    assert "aft_params.json" not in git(project, "ls-tree", "-r", "--name-only", FINAL).split()
    assert person_tree(project, FINAL) == person_tree(project, shape.workspace.head())
    assert result.notes == []
    assert not list((project / ".aft").glob("finalize-*"))  # the temporary index is gone


def test_finalize_never_touches_the_working_copy_index_or_current_branch(project: Path):
    build_session(project)
    (project / "train.py").write_text("# an edit the person is making\n")
    (project / "model.py").write_text("HIDDEN = 8\n")
    git(project, "add", "model.py")  # staged
    (project / "scratch.txt").write_text("untracked\n")
    before = tree_fingerprint(project)
    porcelain = git(project, "status", "--porcelain")
    finalize(project, SID)
    assert tree_fingerprint(project) == before
    assert git(project, "status", "--porcelain") == porcelain
    assert git(project, "symbolic-ref", "HEAD") == "refs/heads/main"


def test_a_final_branch_that_exists_is_refused_naming_git_branch_d(project: Path):
    build_session(project)
    first = finalize(project, None)
    with pytest.raises(UserError) as caught:
        finalize(project, None)
    assert caught.value.exit_code == 2
    assert str(caught.value) == (f"Branch {FINAL} already exists in {project}; delete it with "
                                 f"`git -C {project} branch -D {FINAL}` and finalize again.")
    assert git(project, "rev-parse", FINAL) == first.head  # left as it was
    git(project, "branch", "-D", FINAL)
    assert finalize(project, None).head  # the fix works


def test_a_session_that_kept_no_code_change_still_gets_its_set_up_only(project: Path):
    shape = build_session(project, keep_code=False)
    result = finalize(project, None)
    assert [c.experiment for c in result.commits] == [None]
    assert person_tree(project, FINAL) == person_tree(project, shape.workspace.head())


def test_a_session_that_changed_nothing_is_refused(project: Path):
    from aft_tui.engine.research.records import Experiment
    from aft_tui.engine.research.store import ResearchState, ResearchStore
    from aft_tui.vcs.workspace import Workspace

    ws = Workspace.create(project, SID)
    origin = ws.head()
    trial = ws.commit_params({"lr": 0.1}, "trial 1")
    ResearchStore(project / "outputs", SID).save(
        [Experiment(1, "baseline", "defaults", "baseline", status="keep", commit=trial, value=0.5)],
        ResearchState(metric="val_loss", direction="min", origin_commit=origin, base_commit=""))
    with pytest.raises(UserError) as caught:
        finalize(project, None)
    assert caught.value.exit_code == 1
    assert "kept no change to your files" in str(caught.value)
    assert git(project, "branch", "--list", FINAL) == ""


def test_finalize_in_a_private_repository(tmp_path: Path):
    project = tmp_path / "plain"
    write_project(project)
    shape = build_session(project)
    result = finalize(project, None)
    repo = project / ".aft" / "repo"
    assert result.private and result.repository == repo
    git_dir = f"--git-dir={repo}"
    assert [c.experiment for c in result.commits] == [None, 4, 7]
    assert len(_commits(project, shape.origin, FINAL, git_dir)) == 3
    assert person_tree(project, FINAL, git_dir=repo) == person_tree(project, shape.workspace.head(), git_dir=repo)
    assert f"git --git-dir={repo} log -p" in result.text()
    with pytest.raises(UserError, match=f"git --git-dir={repo} branch -D {FINAL}"):
        finalize(project, None)


def test_finalize_in_a_subdirectory_changes_only_the_project_folder(git_project):
    repo = git_project(commit=False)
    (repo / "README.md").write_text("top\n")
    write_project(repo / "exp")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "repo with a project folder")
    shape = build_session(repo / "exp")
    result = finalize(repo / "exp", None)
    assert result.repository == repo
    assert [c.files for c in result.commits] == [["train.py"], ["train.py"], ["model.py"]]
    assert person_tree(repo, FINAL, "exp") == person_tree(repo, shape.workspace.head(), "exp")
    assert git(repo, "diff", "--name-only", shape.origin, FINAL).split() == ["exp/model.py", "exp/train.py"]


def test_a_change_still_being_tried_stays_off_the_final_branch_and_is_said(project: Path):
    shape = build_session(project)
    ws = shape.workspace
    ws.commit("research 9: in flight", files={"train.py": (ws.project_path / "train.py").read_text() + "X = 9\n"})
    result = finalize(project, None)
    assert "X = 9" not in git(project, "show", f"{FINAL}:train.py")
    assert result.notes == [
        "The session's head also changes train.py beyond the kept experiments (a change still being tried, or "
        "not taken back); the final branch holds only what was kept."]


def test_bad_input_is_refused_with_the_fix(project: Path):
    with pytest.raises(UserError, match="start one with `aft research train.py`") as caught:
        finalize(project, None)
    assert caught.value.exit_code == 2
    build_session(project)
    with pytest.raises(UserError, match=f"its research sessions are: {SID}"):
        finalize(project, "nope")
