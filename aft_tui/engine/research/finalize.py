"""`aft research finalize`: a research session's kept changes as a clean branch of readable commits.

The session branch is a lab notebook: a commit per trial (its parameter file), code changes that
were tried and taken back, re-runs. What the person wants to review and merge is only what was
kept, so the final branch `<session branch>-final` starts at the original snapshot of their files
and holds one commit for AFT's own set-up (when it changed anything), then one per kept code
change in the order they were kept, each saying what it gained. The trials' parameter file is in
none of them.

The branch is built with git plumbing on a temporary index under .aft/ (read-tree, update-index,
write-tree, commit-tree, update-ref), so the person's working copy, index, HEAD and current branch
are never touched, not even for a moment. Each commit takes the files a change touched as they
were right after it, so a kept change lands exactly as it ran, whatever was tried in between.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aft_tui.engine.research.locate import SessionRepo, open_research, open_session_repo
from aft_tui.engine.research.records import Experiment, Kind
from aft_tui.engine.research.report import gain_words, maximizing, reference_before
from aft_tui.errors import EXIT_FAILED, UserError
from aft_tui.redaction import redact

FINAL_SUFFIX = "-final"


@dataclass
class FinalCommit:
    sha: str
    subject: str
    experiment: int | None    # None for AFT's set-up commit
    files: list[str]          # relative to the project directory


@dataclass
class FinalizeResult:
    session_id: str
    branch: str               # e.g. aft/<session>-final
    repository: Path          # the project's repository, or AFT's private one under .aft/
    private: bool
    origin_commit: str        # where the branch starts: the snapshot of the person's files
    head: str                 # the branch's last commit
    commits: list[FinalCommit]
    best_params: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)   # sentences worth saying besides the commits

    def text(self) -> str:
        """What `aft research finalize` prints: the branch, its commits, and how to use it."""
        git = f"git --git-dir={self.repository}" if self.private else "git"
        lines = [f"Created branch {self.branch} in {self.repository}: {len(self.commits)} commit(s) on the snapshot "
                 f"of your files ({self.origin_commit[:10]})."]
        lines += [f"  {c.sha[:10]} {c.subject}" for c in self.commits]
        lines += self.notes
        if self.best_params:
            shown = ", ".join(f"{k}={v}" for k, v in sorted(self.best_params.items()))
            lines.append(f"Best parameters (not written into the code): {shown}.")
        action = "" if self.private else f"; merge it with `git merge {self.branch}`"
        lines.append(f"Review it with `{git} log -p {self.origin_commit[:10]}..{self.branch}`{action}.")
        return "\n".join(lines)


def final_branch_name(session_branch: str) -> str:
    return session_branch + FINAL_SUFFIX


def finalize(project: Path, session_id: str | None) -> FinalizeResult:
    """Create `<session branch>-final` from the research session (the latest when None)."""
    import git

    from aft_tui.vcs import gitcmd
    from aft_tui.vcs.session_refs import branch_exists

    root, sid, store = open_research(project, session_id)
    state = store.state()
    experiments = sorted(store.experiments(), key=lambda e: e.number)
    repo = open_session_repo(root, sid)
    final = final_branch_name(repo.branch)
    if branch_exists(repo.runner, final):
        where = f"git --git-dir={repo.location}" if repo.private else f"git -C {repo.location}"
        raise UserError(f"Branch {final} already exists in {repo.location}; delete it with "
                        f"`{where} branch -D {final}` and finalize again.")
    origin = repo.commit(state.origin_commit or repo.snapshot, "original snapshot")
    base = repo.commit(state.base_commit, "start of research") if state.base_commit else origin
    head = repo.head()
    kept = [e for e in experiments if e.kind == Kind.CODE.value and e.kept and e.code_commit]
    try:
        with tempfile.TemporaryDirectory(prefix="finalize-", dir=root / ".aft") as scratch:
            builder = _Builder(repo, {"GIT_INDEX_FILE": str(Path(scratch) / "index")}, origin)
            builder.add(origin, base, _setup_message(repo, origin, base, sid), None)
            maximize = maximizing(state.direction)
            for e in kept:
                code = repo.commit(e.code_commit, f"the code change of experiment #{e.number}")
                builder.add(f"{code}^", code, _experiment_message(e, experiments, maximize, state.metric, sid),
                            e.number)
            if not builder.commits:
                raise UserError(f"Research session {sid} kept no change to your files, so there is no branch to "
                                "make; its best parameters are in `aft research report`.", exit_code=EXIT_FAILED)
            # The empty old value makes git refuse if the branch appeared in the meantime.
            gitcmd.run(repo.runner, ["update-ref", "-m", f"aft research finalize {sid}", f"refs/heads/{final}",
                                     builder.tip, ""])
            notes = _differences(repo, builder.tip, head)
    except git.GitCommandError as exc:
        raise gitcmd.git_error(exc, f"create branch {final}") from None
    return FinalizeResult(session_id=sid, branch=final, repository=repo.location, private=repo.private,
                          origin_commit=origin, head=builder.tip, commits=builder.commits,
                          best_params=dict(state.best_params), notes=notes)


class _Builder:
    """Commits on a temporary index, each one parented on the last."""

    def __init__(self, repo: SessionRepo, env: dict[str, str], origin: str) -> None:
        from aft_tui.vcs import gitcmd

        self.repo, self.env, self.tip = repo, env, origin
        self.commits: list[FinalCommit] = []
        gitcmd.run(repo.runner, ["read-tree", origin], env=env)
        self.tree = gitcmd.out(repo.runner, "rev-parse", f"{origin}^{{tree}}")

    def add(self, a: str, b: str, message: tuple[str, str], experiment: int | None) -> None:
        """One commit setting the person's files that `a`..`b` changed to their state at `b`;
        nothing when that changes nothing."""
        from aft_tui.vcs import gitcmd

        entries, files = _changes(self.repo, a, b)
        if not entries:
            return
        gitcmd.run(self.repo.runner, ["update-index", "-z", "--index-info"], env=self.env,
                   stdin="".join(entries).encode("utf-8", "surrogateescape"))
        tree = gitcmd.out(self.repo.runner, "write-tree", env=self.env)
        if tree == self.tree:
            return
        subject, body = message
        self.tip = gitcmd.out(self.repo.runner, "commit-tree", tree, "-p", self.tip, "-m", redact(subject),
                              *(["-m", redact(body)] if body else []))
        self.tree = tree
        self.commits.append(FinalCommit(sha=self.tip, subject=redact(subject), experiment=experiment, files=files))


def _changes(repo: SessionRepo, a: str, b: str) -> tuple[list[str], list[str]]:
    """(update-index lines, project-relative paths) for the person's files `a`..`b` changed."""
    from aft_tui.vcs import gitcmd

    text = gitcmd.run(repo.runner, ["diff-tree", "-r", "-z", "--no-renames", a, b, "--", *repo.scope()])[1]
    fields = text.split("\0")
    entries: list[str] = []
    files: list[str] = []
    for meta, path in zip(fields[0::2], fields[1::2]):
        if not meta.startswith(":"):
            continue
        _, new_mode, _, new_sha, status = meta[1:].split(" ")
        if status.startswith("D"):
            entries.append(f"0 {'0' * len(new_sha)}\t{path}\0")
        else:
            entries.append(f"{new_mode} {new_sha}\t{path}\0")
        prefix = f"{repo.subdir}/" if repo.subdir else ""
        files.append(path[len(prefix):] if prefix and path.startswith(prefix) else path)
    return entries, files


def _setup_message(repo: SessionRepo, origin: str, base: str, sid: str) -> tuple[str, str]:
    from aft_tui.vcs import gitcmd

    subjects = (gitcmd.try_out(repo.runner, "log", "--reverse", "--format=%s", f"{origin}..{base}") or "").splitlines()
    listed = "\n".join(f"- {s}" for s in subjects if s.strip())
    body = f"What AFT changed before research session {sid} began, so that it could run its experiments."
    return "AFT's set-up for research", body + (f"\n\n{listed}" if listed else "")


def _experiment_message(e: Experiment, experiments: list[Experiment], maximize: bool, metric: str | None,
                        sid: str) -> tuple[str, str]:
    description = " ".join(e.description.split()) or f"code change {e.recipe or e.source}"
    reference = reference_before(experiments, e.number, maximize)
    if e.value is not None and reference is not None:
        measured = f"Measured: {gain_words(float(e.value), reference, maximize, metric or 'value')}"
    else:
        measured = "Measured: no gain recorded"
    lines = [f"{measured}, research experiment #{e.number} of session {sid}."]
    if e.reason:
        lines.append(f"Kept because {e.reason.rstrip('.')}.")
    lines.append(f"Source: {e.source}{f' ({e.recipe})' if e.recipe else ''}; session commit {e.code_commit[:10]}.")
    return f"{description} (experiment #{e.number})", "\n".join(lines)


def _differences(repo: SessionRepo, tip: str, head: str) -> list[str]:
    """A sentence when the session's head holds changes to the person's files that no kept
    experiment made (a code change still being tried when the session stopped)."""
    from aft_tui.vcs import gitcmd

    text = gitcmd.run(repo.runner, ["diff-tree", "-r", "-z", "--name-only", "--no-renames", tip, head, "--",
                                    *repo.scope()])[1]
    names = [n for n in text.split("\0") if n]
    if not names:
        return []
    return [f"The session's head also changes {', '.join(names)} beyond the kept experiments (a change still "
            "being tried, or not taken back); the final branch holds only what was kept."]
