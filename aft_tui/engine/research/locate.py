"""Which research session a command means, and the repository that holds its branch.

A research session is one with records under outputs/research/<session>/; its branch lives in
the project's own repository or in AFT's private one under .aft/ (a project that is not a git
repository). The report and finalize read both through here, so they agree on which paths are
the person's files: the project directory, without the trials' parameter file and AFT's folders.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from aft_tui.engine.research.store import ResearchStore
from aft_tui.errors import UserError

if TYPE_CHECKING:
    import git


# -- which session -----------------------------------------------------------------------------------

def research_dir(root: Path) -> Path:
    """outputs/research of the project (the outputs folder its settings name)."""
    from aft_tui.settings import load_settings

    outputs = Path(load_settings(root).outputs)
    return (outputs if outputs.is_absolute() else root / outputs) / "research"


def research_session_ids(root: Path) -> list[str]:
    """Sessions that ran in research mode (a research folder with records), oldest first."""
    folder = research_dir(root)
    try:
        names = sorted(p.name for p in folder.iterdir() if p.is_dir())
    except OSError:
        return []
    return [name for name in names if ResearchStore(folder.parent, name).exists()]


def open_research(project: Path, session_id: str | None) -> tuple[Path, str, ResearchStore]:
    """(project root, session id, its store): the session named, else the latest research session."""
    from aft_tui.engine.records import project_root

    root = project_root(project)
    ids = research_session_ids(root)
    if not ids:
        raise UserError(f"No research session in {root}; start one with `aft research train.py`.",
                        in_chat="No research session in this project yet; start one with /research.")
    if session_id is None:
        session_id = ids[-1]
    elif session_id not in ids:
        raise UserError(f"No research session {session_id!r} in {root}; its research sessions are: "
                        f"{', '.join(ids)} (leave the id out for the latest).")
    return root, session_id, ResearchStore(research_dir(root).parent, session_id)


# -- the session's repository ------------------------------------------------------------------------

@dataclass
class SessionRepo:
    """The repository holding a session's branch, and which of its paths are the person's files."""

    runner: "git.Git"
    location: Path      # the project's own repository, or AFT's private one under .aft/
    branch: str
    subdir: str         # the project directory inside the repository ('' at its top)
    private: bool
    own: list[str]      # repository paths AFT keeps for itself (the trials' parameter file, its folders)
    snapshot: str = ""  # the snapshot the branch started from, as the workspace recorded it

    def scope(self) -> list[str]:
        """Pathspecs of the person's files: the project directory, without AFT's own paths."""
        specs = [f":(literal){self.subdir}"] if self.subdir else []
        return specs + [f":(exclude,literal){path}" for path in self.own]

    def commit(self, ref: str, what: str) -> str:
        """The full sha of `ref`, refused in one sentence when the repository lacks it."""
        from aft_tui.vcs import gitcmd

        if not ref:
            raise UserError(f"The session's records name no {what}, so its changes cannot be read; "
                            f"look at them with `git log {self.branch}`.")
        sha = gitcmd.try_out(self.runner, "rev-parse", "-q", "--verify", f"{ref}^{{commit}}")
        if not sha:
            raise UserError(f"The repository {self.location} has no commit {ref!r} ({what}); the session's records "
                            f"and its branch {self.branch} no longer match, so check `git log {self.branch}`.")
        return sha

    def head(self) -> str:
        return self.commit(f"refs/heads/{self.branch}", f"the head of {self.branch}")

    def diff(self, a: str, b: str) -> str:
        """Unified diff of the person's files from `a` to `b`, paths relative to the project."""
        import git

        from aft_tui.vcs import gitcmd

        args = ["diff", "--no-color", "--no-ext-diff", "--no-textconv", "--src-prefix=a/", "--dst-prefix=b/"]
        if self.subdir:
            args.append(f"--relative={self.subdir}/")
        try:
            return gitcmd.run(self.runner, [*args, a, b, "--", *self.scope()], keep_newline=True)[1]
        except git.GitCommandError as exc:
            raise gitcmd.git_error(exc, f"compare {a[:10]} with {b[:10]}") from None


def open_session_repo(root: Path, session_id: str) -> SessionRepo:
    """The repository of the session's branch: the project's own, or the private one under .aft/."""
    from aft_tui.vcs import gitcmd
    from aft_tui.vcs.project_repo import find_repo, private_admin, read_json
    from aft_tui.vcs.session_branch import find_branch
    from aft_tui.vcs.workspace import DEFAULT_EXCLUDED, PARAMS_FILE
    from aft_tui.vcs.worktree_paths import repo_relative

    state = root / ".aft"
    meta = read_json(state / "vcs" / f"{session_id}.json") or {}
    try:
        found = find_branch(root, session_id, state, meta)
    except UserError:
        raise UserError(f"The branch of research session {session_id} is missing from the repository of {root}; "
                        "pick a session whose branch still exists (`aft sessions` lists them).") from None
    if found.private:
        location = state / "repo"
        runner = private_admin(location)
    else:
        located = find_repo(root)
        assert located is not None  # find_branch found the branch in it
        location = located[0]
        runner = gitcmd.make_git(location)
    own: list[str] = []
    for name in [PARAMS_FILE, ".aft", *[str(n) for n in meta.get("exclude", DEFAULT_EXCLUDED)]]:
        try:
            own.append(repo_relative(found.subdir, name))
        except UserError:
            continue
    return SessionRepo(runner=runner, location=location, branch=found.prefix + session_id, subdir=found.subdir,
                       private=found.private, own=own, snapshot=str(meta.get("snapshot") or ""))
