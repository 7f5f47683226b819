"""A tuning session's own git workspace: branch `aft/<session>` checked out in a private worktree.

Why a worktree: trials run, and refactors land, in a directory AFT owns, so the person's working
copy, index, HEAD and current branch are never modified, and they can keep editing while AFT works.
Every applied proposal and every trial's parameter choice is one commit on the session branch, so
checking out a commit reproduces a trial; results ride along as git notes (`refs/notes/aft`) and
each trial can be tagged. Rollback adds a new commit; history is never rewritten.

Projects that are not git repositories get a private repository under `<state dir>/repo`; the
project directory itself is never written, apart from the state directory.

Paths given to this API (files to commit, diff paths, `file_at`) are relative to the project
directory, which may be a subdirectory of the repository (`subdir`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aft_tui.errors import UserError
from aft_tui.fsutil import atomic_write_bytes
from aft_tui.redaction import redact
from aft_tui.vcs import gitcmd
from aft_tui.vcs.links import create_links, top_level_candidates
from aft_tui.vcs.project_repo import parse_json, prepare_state_dir, private_admin, project_dir_of, read_json, resolve_state_dir
from aft_tui.vcs.session_branch import (delete_branch, ensure_worktree, excluded_paths, find_branch, remove_worktree,
                                        session_ids, start_branch)
from aft_tui.vcs.session_refs import BRANCH_PREFIX, check_session_id
from aft_tui.vcs.staging import commit_paths
from aft_tui.vcs.tags_notes import NOTES_REF, add_note, read_note, tag_commit
from aft_tui.vcs.worktree_paths import locate, repo_relative, source_root

__all__ = ["DEFAULT_EXCLUDED", "NOTES_REF", "PARAMS_FILE", "Workspace"]

if TYPE_CHECKING:
    import git

PARAMS_FILE = "aft_params.json"
"""Where a trial's parameter choice lives in the tree (relative to the project directory)."""
DEFAULT_EXCLUDED = ("outputs",)
"""Project-relative directories never snapshotted nor linked: AFT writes its outputs there."""

class Workspace:
    """One session's branch and worktree. Build it with `create` or `open`."""

    def __init__(
        self,
        *,
        project_dir: Path,
        session_id: str,
        state_dir: Path,
        subdir: str,
        private: bool,
        prefix: str = BRANCH_PREFIX,
    ) -> None:
        self._project_dir = project_dir
        self._prefix = prefix
        self.prefix_note = ""  # a sentence when the session lives under another prefix than aft/
        self._session_id = session_id
        self._state_dir = state_dir
        self._subdir = subdir
        self._private = private
        self._runner: git.Git | None = None
        self._repo: git.Repo | None = None
        self._tracked: set[str] = set()

    # ----------------------------------------------------------------- construction

    @classmethod
    def create(
        cls,
        project_dir: Path,
        session_id: str,
        state_dir: Path | None = None,
        *,
        exclude: Iterable[str] = DEFAULT_EXCLUDED,
    ) -> "Workspace":
        """Snapshot the project as it is now and start branch `aft/<session_id>` in a new worktree.

        `exclude` names project-relative directories (outputs) kept out of the snapshot.
        """
        project = project_dir_of(project_dir)
        check_session_id(session_id)
        exclude = [str(name) for name in exclude]
        state = resolve_state_dir(project, state_dir)
        worktree = state / "worktrees" / session_id
        if os.path.lexists(worktree) and (not worktree.is_dir() or any(worktree.iterdir())):
            raise UserError(
                f"Session {session_id!r} already has a worktree at {worktree}; resume it or pick another session id."
            )
        prepare_state_dir(state)
        skip_paths = excluded_paths(project, state, exclude)
        new = start_branch(project, session_id, state, worktree, skip_paths)
        ws = cls(project_dir=project, session_id=session_id, state_dir=state, subdir=new.subdir, private=new.private,
                 prefix=new.prefix)
        ws.prefix_note = new.prefix_note
        links = ws._link_rule(new.snapshot, skip_paths) + new.left_out
        create_links(new.source_root, worktree, links)
        ws._write_meta(
            {"snapshot": new.snapshot, "links": new.left_out, "subdir": new.subdir, "exclude": exclude,
             "private": new.private, "prefix": new.prefix}
        )
        return ws

    @classmethod
    def open(cls, project_dir: Path, session_id: str, state_dir: Path | None = None) -> "Workspace":
        """Re-open a session for resume; a deleted worktree directory is checked out again."""
        import git

        project = project_dir_of(project_dir)
        check_session_id(session_id)
        state = resolve_state_dir(project, state_dir)
        meta = read_json(state / "vcs" / f"{session_id}.json") or {}
        found = find_branch(project, session_id, state, meta)
        ws = cls(project_dir=project, session_id=session_id, state_dir=state, subdir=found.subdir,
                 private=found.private, prefix=found.prefix)
        try:
            ws._ensure_worktree()
        except git.GitCommandError as exc:
            raise gitcmd.git_error(exc, f"check out session {session_id!r} again") from None
        skip_paths = excluded_paths(project, state, meta.get("exclude", DEFAULT_EXCLUDED))
        snapshot = str(meta.get("snapshot") or "HEAD")
        links = ws._link_rule(snapshot, skip_paths) + [str(p) for p in meta.get("links", [])]
        create_links(ws._source_root(), ws.path, links)
        return ws

    @staticmethod
    def list_sessions(project_dir: Path, state_dir: Path | None = None) -> list[str]:
        """Ids of this project's sessions (those with a branch), sorted by name."""
        return session_ids(project_dir, state_dir)

    # ----------------------------------------------------------------- properties

    @property
    def path(self) -> Path:
        """The worktree's root directory (trials run in `path / subdir`)."""
        return self._state_dir / "worktrees" / self._session_id

    @property
    def project_path(self) -> Path:
        """The project directory's counterpart inside the worktree."""
        return self.path / self._subdir if self._subdir else self.path

    @property
    def branch(self) -> str:
        return self._prefix + self._session_id

    @property
    def session_id(self) -> str:
        return self._session_id

    @property
    def project_dir(self) -> Path:
        return self._project_dir

    @property
    def state_dir(self) -> Path:
        return self._state_dir

    @property
    def subdir(self) -> str:
        """The project directory relative to the repository root ('' at the root), POSIX style."""
        return self._subdir

    @property
    def private(self) -> bool:
        """True when the project is not a git repository and AFT keeps one for it."""
        return self._private

    @property
    def repo(self) -> "git.Repo":
        """GitPython's view of the worktree, for callers that want more than this class offers."""
        if self._repo is None:
            import git

            self._repo = git.Repo(str(self.path))
        return self._repo

    # ----------------------------------------------------------------- commits

    def commit(
        self,
        message: str,
        files: Mapping[str, str | bytes] | None = None,
        remove: Iterable[str] | None = None,
        *,
        stage: Iterable[str] | None = None,
    ) -> str:
        """Write `files`, delete `remove`, stage exactly those (plus `stage`, already written) and commit.

        A commit is made even when nothing changed, so every trial owns one. Returns its sha.
        """
        runner = self._git()
        staged: list[str] = []
        for rel, content in (files or {}).items():
            target, repo_rel = self._locate(rel, writing=True)
            if rel == PARAMS_FILE and isinstance(content, str):
                content = redact(content)  # AFT's own record (it quotes the command line); scripts stay as written
            data = content.encode("utf-8") if isinstance(content, str) else bytes(content)
            atomic_write_bytes(target, data, durable=False, keep_mode=True)
            staged.append(repo_rel)
        for rel in stage or ():
            staged.append(self._locate(rel, writing=True)[1])
        removed = [self._locate(rel, writing=True) for rel in remove or ()]
        commit_paths(runner, message, staged, removed, self._tracked, self.branch)
        return self.head()

    def commit_params(self, params: Mapping[str, Any], message: str) -> str:
        """Commit a trial's parameter choice as PARAMS_FILE so a checkout reproduces the trial."""
        text = json.dumps(dict(params), indent=2, sort_keys=True, default=str) + "\n"
        return self.commit(message, files={PARAMS_FILE: text})

    def params_at(self, sha: str) -> dict[str, Any] | None:
        """The parameter choice recorded at `sha`, if that commit has one."""
        return parse_json(self.file_at(sha, PARAMS_FILE))

    def head(self) -> str:
        """The session branch's latest commit."""
        self._git()
        try:  # GitPython reads the ref files directly: no process per trial
            sha = self.repo.head.commit.hexsha
        except Exception:
            sha = ""
        return sha if len(sha) == 40 else gitcmd.out(self._git(), "rev-parse", "HEAD")

    def log(self, n: int = 50) -> list[dict[str, str]]:
        """The session branch's latest `n` commits, newest first: sha, message, date (ISO 8601)."""
        text = gitcmd.try_out(self._git(), "log", f"-n{max(int(n), 0)}", "--format=%H%x1f%cI%x1f%B%x1e", "HEAD")
        entries: list[dict[str, str]] = []
        for record in (text or "").split("\x1e"):
            record = record.strip("\n")
            if not record:
                continue
            sha, date, message = (record.split("\x1f", 2) + ["", ""])[:3]
            entries.append({"sha": sha.strip(), "message": message.strip(), "date": date.strip()})
        return entries

    def rollback(self, sha: str, message: str) -> str:
        """Add a commit whose tree is `sha`'s tree and check it out; nothing is rewritten."""
        import git

        runner = self._git()
        tree = gitcmd.try_out(runner, "rev-parse", "-q", "--verify", f"{sha}^{{tree}}")
        if not tree:
            raise UserError(f"No commit {sha!r} in {self.branch}'s repository; pick one from `aft runs`.")
        try:
            new = gitcmd.out(runner, "commit-tree", tree, "-p", "HEAD", "-m",
                              redact(message.strip()) or f"Roll back to {sha}")
            self._tracked.clear()
            gitcmd.run(runner, ["reset", "-q", "--hard", new])
        except git.GitCommandError as exc:
            raise gitcmd.git_error(exc, f"roll back to {sha}") from None
        return new

    # ----------------------------------------------------------------- tags and notes

    @property
    def snapshot(self) -> str:
        """The commit of the person's files the session branch started from ("" when unknown)."""
        meta = read_json(self._state_dir / "vcs" / f"{self.session_id}.json") or {}
        return str(meta.get("snapshot") or "")

    def trial_tag(self, trial: int | str) -> str:
        """The conventional tag name for a trial of this session."""
        return f"{self._prefix}{self._session_id}/trial-{trial}"

    def tag(self, name: str, sha: str) -> None:
        """Point tag `name` at `sha` (moved if it exists: a resumed trial re-tags its new commit)."""
        tag_commit(self._git(), name, sha, self.branch)

    def add_note(self, sha: str, data: Mapping[str, Any]) -> None:
        """Attach `data` (as JSON) to commit `sha` under refs/notes/aft, replacing any earlier note."""
        add_note(self._git(), sha, data, self.branch)

    def read_note(self, sha: str) -> dict[str, Any] | None:
        return read_note(self._git(), sha)

    # ----------------------------------------------------------------- reading

    def diff(
        self,
        a: str,
        b: str,
        paths: Iterable[str] | None = None,
        *,
        exclude: Iterable[str] | None = None,
    ) -> str:
        """Unified diff from `a` to `b`, paths shown relative to the project directory."""
        import git

        args = ["diff", "--no-color", "--no-ext-diff", "--no-textconv"]
        if self._subdir:
            args.append(f"--relative={self._subdir}/")
        args += [self._commit_of(a), self._commit_of(b), "--"]
        args += [f":(literal){self._repo_rel(p)}" for p in paths or ()]
        args += [f":(exclude,literal){self._repo_rel(p)}" for p in exclude or ()]
        try:
            return gitcmd.run(self._git(), args, keep_newline=True)[1]
        except git.GitCommandError as exc:
            raise gitcmd.git_error(exc, f"compare {a} with {b}") from None

    def file_at(self, sha: str, path: str) -> str | None:
        """A file's text at commit `sha`, or None when it does not exist there."""
        status, text, _ = gitcmd.run(
            self._git(), ["cat-file", "blob", f"{sha}:{self._repo_rel(path)}"], check=False, keep_newline=True
        )
        return text if status == 0 else None

    def file_bytes_at(self, sha: str, path: str) -> bytes | None:
        """A file's bytes at commit `sha` (a script in its own encoding), or None when it does not exist there."""
        status, data, _ = self._git().execute(
            ["git", "cat-file", "blob", f"{sha}:{self._repo_rel(path)}"], with_extended_output=True,
            with_exceptions=False, stdout_as_string=False, strip_newline_in_stdout=False)
        return bytes(data) if status == 0 else None

    # ----------------------------------------------------------------- cleanup

    def remove_worktree(self) -> None:
        """Delete the worktree directory and its registration; the branch, tags and notes stay."""
        remove_worktree(self._admin(), self.path)
        self._runner = None
        self._repo = None

    def discard_if_unchanged(self) -> bool:
        """Delete this session's worktree, branch, tags and record when its branch holds nothing
        but the snapshot it started from; False, with nothing deleted, otherwise.

        For a session that ended before doing anything: the person's files were never touched,
        so nothing is lost, and no empty branch or worktree is left behind.
        """
        meta_path = self._state_dir / "vcs" / f"{self._session_id}.json"
        snapshot = (read_json(meta_path) or {}).get("snapshot")
        if not snapshot or self.head() != snapshot:
            return False
        admin = self._admin()
        self.remove_worktree()
        delete_branch(admin, self.branch)
        meta_path.unlink(missing_ok=True)
        return True

    # ----------------------------------------------------------------- internals

    def _git(self) -> "git.Git":
        if self._runner is None:
            if not (self.path / ".git").exists():
                raise UserError(
                    f"The worktree of session {self._session_id!r} is missing; resume the session to recreate it."
                )
            self._runner = gitcmd.make_git(self.path)
        return self._runner

    def _source_root(self) -> Path:
        return source_root(self._project_dir, self._subdir)

    def _admin(self) -> "git.Git":
        if self._private:
            return private_admin(self._state_dir / "repo")
        return gitcmd.make_git(self._source_root())

    def _ensure_worktree(self) -> None:
        ensure_worktree(self._admin(), self.path, self.branch)

    def _link_rule(self, snapshot: str, skip_paths: list[Path]) -> list[str]:
        """Repository-relative paths of the project's top-level entries missing from `snapshot`."""
        spec = f"{snapshot}:{self._subdir}" if self._subdir else f"{snapshot}^{{tree}}"
        listing = gitcmd.try_out(self._git(), "ls-tree", "-z", "--name-only", spec) or ""
        names = set(filter(None, listing.split("\0")))
        prefix = f"{self._subdir}/" if self._subdir else ""
        return [prefix + name for name in top_level_candidates(self._project_dir, names, skip_paths)]

    def _write_meta(self, meta: dict[str, Any]) -> None:
        atomic_write_bytes(
            self._state_dir / "vcs" / f"{self._session_id}.json",
            (json.dumps(meta, indent=2, sort_keys=True) + "\n").encode("utf-8"),
            durable=False,
            keep_mode=True,
        )

    def _repo_rel(self, rel: str) -> str:
        return repo_relative(self._subdir, rel)

    def _locate(self, rel: str, *, writing: bool) -> tuple[Path, str]:
        return locate(self.path, self._subdir, rel, writing=writing)

    def _commit_of(self, sha: str) -> str:
        commit = gitcmd.try_out(self._git(), "rev-parse", "-q", "--verify", f"{sha}^{{commit}}")
        if not commit:
            raise UserError(f"No commit {sha!r} in {self.branch}'s repository; pick one from `aft runs`.")
        return commit

    def __repr__(self) -> str:
        return f"Workspace(session={self._session_id!r}, path={str(self.path)!r}, branch={self.branch!r})"
