"""Starting a session's branch from a snapshot of the project, and finding it again.

The branch starts from a snapshot of the person's working copy (uncommitted edits and untracked
files included) made without touching their index, HEAD or files, and is checked out in a
worktree under the state directory. A resume finds the branch under whichever prefix holds it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aft_tui.errors import UserError
from aft_tui.vcs import gitcmd
from aft_tui.vcs.project_repo import find_repo, private_admin, relative_inside, resolve_state_dir
from aft_tui.vcs.session_refs import BRANCH_PREFIX, branch_exists, choose_prefix, existing_prefix, session_branches
from aft_tui.vcs.snapshot import snapshot_directory, snapshot_working_copy

if TYPE_CHECKING:
    import git


@dataclass
class NewBranch:
    """What starting a session's branch decided, for the workspace that owns it."""

    prefix: str
    prefix_note: str  # a sentence when the session lives under another prefix than aft/
    subdir: str
    private: bool
    snapshot: str
    source_root: Path  # where the repository's top level sits in the person's project
    left_out: list[str] = field(default_factory=list)


@dataclass
class FoundBranch:
    """Where an existing session's branch lives."""

    prefix: str
    subdir: str
    private: bool


def start_branch(project: Path, session_id: str, state: Path, worktree: Path, skip_paths: list[Path]) -> NewBranch:
    """Snapshot `project` and check out a new session branch at that snapshot in `worktree`."""
    import git

    prefix, prefix_note = BRANCH_PREFIX, ""
    message = f"AFT session {session_id}: snapshot of the project"
    found = find_repo(project)
    try:
        with tempfile.TemporaryDirectory(prefix="snapshot-", dir=state) as scratch:
            if found is not None:
                toplevel, subdir = found
                admin = gitcmd.make_git(toplevel)
                prefix, prefix_note = choose_prefix(admin, toplevel)
                branch = prefix + session_id
                if branch_exists(admin, branch):
                    raise UserError(
                        f"Branch {branch} already exists in {toplevel}; resume that session or pick another session id."
                    )
                index = gitcmd.try_out(admin, "rev-parse", "--git-path", "index")
                index_path = (toplevel / index) if index else None
                parent = gitcmd.try_out(admin, "rev-parse", "-q", "--verify", "HEAD^{commit}")
                excluded = relative_inside(toplevel, skip_paths)
                snap = snapshot_working_copy(admin, index_path, Path(scratch), excluded, parent, message)
                source_root = toplevel
            else:
                subdir = ""
                repo_dir = state / "repo"
                if not (repo_dir / "HEAD").exists():
                    git.Git(str(state)).execute(["git", "init", "-q", "--bare", str(repo_dir)])
                admin = private_admin(repo_dir)
                branch = prefix + session_id
                if branch_exists(admin, branch):
                    raise UserError(
                        f"Session {session_id!r} already exists for {project}; resume it or pick another session id."
                    )
                snap = snapshot_directory(admin, project, Path(scratch), skip_paths, message)
                source_root = project
            worktree.parent.mkdir(parents=True, exist_ok=True)
            gitcmd.run(admin, ["worktree", "add", "-q", "-b", branch, str(worktree), snap.commit])
    except git.GitCommandError as exc:
        raise gitcmd.git_error(exc, f"start session {session_id!r}") from None
    return NewBranch(prefix=prefix, prefix_note=prefix_note, subdir=subdir, private=found is None,
                     snapshot=snap.commit, source_root=source_root, left_out=list(snap.left_out))


def find_branch(project: Path, session_id: str, state: Path, meta: dict[str, Any]) -> FoundBranch:
    """The existing session's branch: in the private repository, else in the project's own."""
    repo_dir = state / "repo"
    prefix = existing_prefix(private_admin(repo_dir), session_id, meta.get("prefix")) if (repo_dir / "HEAD").exists() else None
    if prefix is not None:
        return FoundBranch(prefix=prefix, subdir="", private=True)
    found = find_repo(project)
    prefix = existing_prefix(gitcmd.make_git(found[0]), session_id, meta.get("prefix")) if found else None
    if found is None or prefix is None:
        raise UserError(
            f"No AFT session {session_id!r} for {project}; list the sessions with `aft sessions`."
        )
    return FoundBranch(prefix=prefix, subdir=str(meta.get("subdir", found[1])), private=False)


def session_ids(project_dir: Path, state_dir: Path | None = None) -> list[str]:
    """Ids of this project's sessions (those with a branch), sorted by name."""
    project = Path(os.path.abspath(project_dir))
    state = resolve_state_dir(project, state_dir)
    repo_dir = state / "repo"
    branches: list[str] = []
    if (repo_dir / "HEAD").exists():
        branches += session_branches(private_admin(repo_dir))
    if project.is_dir():
        found = find_repo(project)
        if found is not None:
            branches += session_branches(gitcmd.make_git(found[0]))
    # A session has its record or its worktree: other projects in the same repository have their
    # own sessions, and a branch such as research's `<session>-final` is not a session.
    return sorted({name for name in branches
                   if (state / "vcs" / f"{name}.json").exists() or (state / "worktrees" / name).exists()})


def excluded_paths(project: Path, state: Path, exclude: Iterable[Any]) -> list[Path]:
    """The state directory and the excluded project folders (outputs): never snapshotted nor linked."""
    return [state] + [project / str(name) for name in exclude]


def ensure_worktree(admin: "git.Git", path: Path, branch: str) -> None:
    """Check `branch` out at `path` again when its worktree was deleted; refuse a foreign folder there."""
    dot_git = path / ".git"
    if dot_git.exists():
        head = gitcmd.try_out(gitcmd.make_git(path), "symbolic-ref", "-q", "HEAD")
        if head == f"refs/heads/{branch}":
            return
        raise UserError(
            f"{path} is not the worktree of {branch}; move it away and resume the session again."
        )
    if os.path.lexists(path) and (not path.is_dir() or any(path.iterdir())):
        raise UserError(f"{path} exists but is not a git worktree; move it away and resume the session again.")
    path.parent.mkdir(parents=True, exist_ok=True)
    gitcmd.run(admin, ["worktree", "add", "-q", "-f", str(path), branch])


def remove_worktree(admin: "git.Git", path: Path) -> None:
    """Delete the worktree directory and its registration; the branch, tags and notes stay."""
    gitcmd.run(admin, ["worktree", "remove", "--force", "--force", str(path)], check=False)
    if os.path.lexists(path):
        shutil.rmtree(path)  # does not follow the data links


def delete_branch(admin: "git.Git", branch: str) -> None:
    """Delete a session's branch and its trial tags (which live below the branch's name)."""
    tags = gitcmd.try_out(admin, "for-each-ref", "--format=%(refname:short)", f"refs/tags/{branch}/") or ""
    for tag in tags.splitlines():
        gitcmd.run(admin, ["tag", "-d", tag.strip()], check=False)
    gitcmd.run(admin, ["branch", "-D", "-q", branch], check=False)
