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
import re
import shutil
import tempfile
import time
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from aft_tui.errors import UserError
from aft_tui.fsutil import atomic_write_bytes
from aft_tui.redaction import redact
from aft_tui.vcs import gitcmd
from aft_tui.vcs.links import create_links, top_level_candidates
from aft_tui.vcs.snapshot import snapshot_directory, snapshot_working_copy

if TYPE_CHECKING:
    import git

BRANCH_PREFIX = "aft/"
"""Where session branches (`aft/<session>`) and trial tags (`aft/<session>/trial-001`) live."""
OTHER_PREFIXES = ("aft-sessions/",) + tuple(f"aft-sessions-{n}/" for n in range(2, 10))
"""Used instead, in that order, when the repository has a branch or tag named like the prefix
(`aft`): git cannot hold both refs/heads/aft and refs/heads/aft/<session>."""
SESSION_PREFIXES = (BRANCH_PREFIX, *OTHER_PREFIXES)
NOTES_REF = "refs/notes/aft"
PARAMS_FILE = "aft_params.json"
"""Where a trial's parameter choice lives in the tree (relative to the project directory)."""
DEFAULT_EXCLUDED = ("outputs",)
"""Project-relative directories never snapshotted nor linked: AFT writes its outputs there."""

_SESSION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def _check_session_id(session_id: str) -> None:
    if (
        not isinstance(session_id, str)
        or not _SESSION_ID.match(session_id)
        or ".." in session_id
        or session_id.endswith((".lock", "."))
    ):
        raise UserError(
            f"Session id {session_id!r} cannot name a branch; use letters, digits, '.', '_' or '-' "
            "(starting with a letter or digit)."
        )


def _resolve_state_dir(project_dir: Path, state_dir: Path | None) -> Path:
    return Path(os.path.abspath(state_dir if state_dir is not None else project_dir / ".aft"))


def _project_dir(project_dir: Path) -> Path:
    path = Path(os.path.abspath(project_dir))
    if not path.is_dir():
        raise UserError(f"Project directory {path} does not exist; pass the folder that holds your training script.")
    return path


def _prepare_state_dir(state_dir: Path) -> None:
    """Create the state directory, ignored by git so it never shows as untracked."""
    state_dir.mkdir(parents=True, exist_ok=True)
    ignore = state_dir / ".gitignore"
    try:
        current = ignore.read_bytes()
    except OSError:
        current = None
    if current != b"*\n":
        atomic_write_bytes(ignore, b"*\n", durable=False, keep_mode=True)


def _find_repo(project_dir: Path) -> tuple[Path, str] | None:
    """(top-level directory, project prefix) of the repository holding the project, if any.

    A project directory that its enclosing repository ignores (a dotfiles repository at $HOME,
    say) is treated as not under version control: a snapshot of it would be empty.
    """
    runner = gitcmd.make_git(project_dir)
    status, text, _ = gitcmd.run(runner, ["rev-parse", "--show-toplevel", "--show-prefix"], check=False)
    if status != 0:
        return None
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        return None
    toplevel = Path(lines[0].strip())
    prefix = lines[1].strip().rstrip("/") if len(lines) > 1 else ""
    if prefix:
        top = gitcmd.make_git(toplevel)
        ignored, _, _ = gitcmd.run(top, ["check-ignore", "-q", "--", prefix], check=False)
        if ignored == 0:
            return None
    return toplevel, prefix


def _branch_exists(runner: "git.Git", branch: str) -> bool:
    return gitcmd.try_out(runner, "rev-parse", "-q", "--verify", f"refs/heads/{branch}") is not None


def _session_branches(runner: "git.Git") -> list[str]:
    patterns = [f"refs/heads/{prefix}" for prefix in SESSION_PREFIXES]
    text = gitcmd.try_out(runner, "for-each-ref", "--format=%(refname)", *patterns) or ""
    names = []
    for line in text.splitlines():
        prefix = next((p for p in patterns if line.startswith(p)), None)
        if prefix is not None:
            names.append(line[len(prefix):])
    return [name for name in names if "/" not in name]


def _blocking_ref(runner: "git.Git", prefix: str) -> str | None:
    """'branch' or 'tag' when a ref named like `prefix` (without its slash) keeps git from
    creating refs below it; None when the prefix is free."""
    name = prefix.rstrip("/")
    for kind, ref in (("branch", f"refs/heads/{name}"), ("tag", f"refs/tags/{name}")):
        if gitcmd.try_out(runner, "rev-parse", "-q", "--verify", ref) is not None:
            return kind
    return None


def _choose_prefix(runner: "git.Git", toplevel: Path) -> tuple[str, str]:
    """The prefix for a new session's branch and tags, and a sentence when it is not the usual one."""
    blocked = _blocking_ref(runner, BRANCH_PREFIX)
    if blocked is None:
        return BRANCH_PREFIX, ""
    for prefix in OTHER_PREFIXES:
        if _blocking_ref(runner, prefix) is None:
            return prefix, (f"This repository has a {blocked} named '{BRANCH_PREFIX.rstrip('/')}', so the session's "
                            f"branch and tags are under {prefix} instead of {BRANCH_PREFIX}.")
    raise UserError(f"The repository {toplevel} has a {blocked} named '{BRANCH_PREFIX.rstrip('/')}' (and branches or "
                    f"tags named {', '.join(p.rstrip('/') for p in OTHER_PREFIXES)}), so git cannot hold AFT's session "
                    f"branches; rename the {blocked} 'aft' (e.g. `git branch -m aft my-aft`) and try again.")


def _existing_prefix(runner: "git.Git", session_id: str, recorded: Any) -> str | None:
    """The prefix of an existing session's branch: the recorded one, else whichever holds it
    (sessions made before the prefix was recorded are under aft/)."""
    candidates = [recorded] if isinstance(recorded, str) and recorded in SESSION_PREFIXES else []
    for prefix in [*candidates, *SESSION_PREFIXES]:
        if _branch_exists(runner, prefix + session_id):
            return prefix
    return None


def _private_admin(repo_dir: Path) -> "git.Git":
    return gitcmd.make_git(repo_dir, {"GIT_DIR": str(repo_dir)})


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
        import git

        project = _project_dir(project_dir)
        _check_session_id(session_id)
        exclude = [str(name) for name in exclude]
        state = _resolve_state_dir(project, state_dir)
        worktree = state / "worktrees" / session_id
        if os.path.lexists(worktree) and (not worktree.is_dir() or any(worktree.iterdir())):
            raise UserError(
                f"Session {session_id!r} already has a worktree at {worktree}; resume it or pick another session id."
            )
        _prepare_state_dir(state)
        skip_paths = [state] + [project / name for name in exclude]
        prefix, prefix_note = BRANCH_PREFIX, ""
        message = f"AFT session {session_id}: snapshot of the project"
        found = _find_repo(project)
        try:
            with tempfile.TemporaryDirectory(prefix="snapshot-", dir=state) as scratch:
                if found is not None:
                    toplevel, subdir = found
                    admin = gitcmd.make_git(toplevel)
                    prefix, prefix_note = _choose_prefix(admin, toplevel)
                    branch = prefix + session_id
                    if _branch_exists(admin, branch):
                        raise UserError(
                            f"Branch {branch} already exists in {toplevel}; resume that session or pick another session id."
                        )
                    index = gitcmd.try_out(admin, "rev-parse", "--git-path", "index")
                    index_path = (toplevel / index) if index else None
                    parent = gitcmd.try_out(admin, "rev-parse", "-q", "--verify", "HEAD^{commit}")
                    excluded = _relative_inside(toplevel, skip_paths)
                    snap = snapshot_working_copy(admin, index_path, Path(scratch), excluded, parent, message)
                    source_root = toplevel
                else:
                    subdir = ""
                    repo_dir = state / "repo"
                    if not (repo_dir / "HEAD").exists():
                        git.Git(str(state)).execute(["git", "init", "-q", "--bare", str(repo_dir)])
                    admin = _private_admin(repo_dir)
                    branch = prefix + session_id
                    if _branch_exists(admin, branch):
                        raise UserError(
                            f"Session {session_id!r} already exists for {project}; resume it or pick another session id."
                        )
                    snap = snapshot_directory(admin, project, Path(scratch), skip_paths, message)
                    source_root = project
                worktree.parent.mkdir(parents=True, exist_ok=True)
                gitcmd.run(admin, ["worktree", "add", "-q", "-b", branch, str(worktree), snap.commit])
        except git.GitCommandError as exc:
            raise gitcmd.git_error(exc, f"start session {session_id!r}") from None

        ws = cls(project_dir=project, session_id=session_id, state_dir=state, subdir=subdir, private=found is None,
                 prefix=prefix)
        ws.prefix_note = prefix_note
        links = ws._link_rule(snap.commit, skip_paths) + snap.left_out
        create_links(source_root, worktree, links)
        ws._write_meta(
            {"snapshot": snap.commit, "links": snap.left_out, "subdir": subdir, "exclude": exclude, "private": found is None,
             "prefix": prefix}
        )
        return ws

    @classmethod
    def open(cls, project_dir: Path, session_id: str, state_dir: Path | None = None) -> "Workspace":
        """Re-open a session for resume; a deleted worktree directory is checked out again."""
        import git

        project = _project_dir(project_dir)
        _check_session_id(session_id)
        state = _resolve_state_dir(project, state_dir)
        meta = _read_json(state / "vcs" / f"{session_id}.json") or {}
        repo_dir = state / "repo"
        prefix = _existing_prefix(_private_admin(repo_dir), session_id, meta.get("prefix")) if (repo_dir / "HEAD").exists() else None
        private = prefix is not None
        subdir = ""
        if not private:
            found = _find_repo(project)
            prefix = _existing_prefix(gitcmd.make_git(found[0]), session_id, meta.get("prefix")) if found else None
            if found is None or prefix is None:
                raise UserError(
                    f"No AFT session {session_id!r} for {project}; list the sessions with `aft sessions`."
                )
            subdir = str(meta.get("subdir", found[1]))
        ws = cls(project_dir=project, session_id=session_id, state_dir=state, subdir=subdir, private=private,
                 prefix=prefix)
        try:
            ws._ensure_worktree()
        except git.GitCommandError as exc:
            raise gitcmd.git_error(exc, f"check out session {session_id!r} again") from None
        skip_paths = [state] + [project / str(name) for name in meta.get("exclude", DEFAULT_EXCLUDED)]
        snapshot = str(meta.get("snapshot") or "HEAD")
        links = ws._link_rule(snapshot, skip_paths) + [str(p) for p in meta.get("links", [])]
        create_links(ws._source_root(), ws.path, links)
        return ws

    @staticmethod
    def list_sessions(project_dir: Path, state_dir: Path | None = None) -> list[str]:
        """Ids of this project's sessions (those with a branch), sorted by name."""
        project = Path(os.path.abspath(project_dir))
        state = _resolve_state_dir(project, state_dir)
        ids: set[str] = set()
        repo_dir = state / "repo"
        if (repo_dir / "HEAD").exists():
            ids.update(_session_branches(_private_admin(repo_dir)))
        if project.is_dir():
            found = _find_repo(project)
            if found is not None:
                for name in _session_branches(gitcmd.make_git(found[0])):
                    # Other projects in the same repository have their own sessions.
                    if (state / "vcs" / f"{name}.json").exists() or (state / "worktrees" / name).exists():
                        ids.add(name)
        return sorted(ids)

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
        import git

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
        literal = {"GIT_LITERAL_PATHSPECS": "1"}
        commit_args = ["commit", "-q", "--allow-empty", "--no-verify", "--cleanup=whitespace",
                       "-m", redact(message.strip()) or "AFT commit"]
        try:
            if removed:
                self._tracked.clear()
                gitcmd.run(
                    runner,
                    ["rm", "-r", "-q", "-f", "--ignore-unmatch", "--", *(r for _, r in removed)],
                    env=literal,
                )
                for target, _ in removed:
                    if os.path.islink(target) or target.is_file():
                        target.unlink()
                    elif target.is_dir():
                        shutil.rmtree(target)
            # Paths this object has committed before are tracked: `commit --include` stages and
            # commits them in one process. It refuses untracked paths, hence add + commit then.
            done = False
            if staged and self._tracked.issuperset(staged):
                status, _, _ = gitcmd.run(runner, [*commit_args, "--include", "--", *staged], env=literal, check=False)
                done = status == 0
            if not done:
                if staged:
                    gitcmd.run(runner, ["add", "-f", "--", *staged], env=literal)
                gitcmd.run(runner, commit_args)
            self._tracked.update(staged)
        except git.GitCommandError as exc:
            raise gitcmd.git_error(exc, f"commit to {self.branch}") from None
        return self.head()

    def commit_params(self, params: Mapping[str, Any], message: str) -> str:
        """Commit a trial's parameter choice as PARAMS_FILE so a checkout reproduces the trial."""
        text = json.dumps(dict(params), indent=2, sort_keys=True, default=str) + "\n"
        return self.commit(message, files={PARAMS_FILE: text})

    def params_at(self, sha: str) -> dict[str, Any] | None:
        """The parameter choice recorded at `sha`, if that commit has one."""
        return _parse_json(self.file_at(sha, PARAMS_FILE))

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

    def trial_tag(self, trial: int | str) -> str:
        """The conventional tag name for a trial of this session."""
        return f"{self._prefix}{self._session_id}/trial-{trial}"

    def tag(self, name: str, sha: str) -> None:
        """Point tag `name` at `sha` (moved if it exists: a resumed trial re-tags its new commit)."""
        status, _, err = gitcmd.run(self._git(), ["tag", "-f", "--", name, f"{sha}^{{commit}}"], check=False)
        if status == 0:
            return
        if "not a valid tag name" in err:
            raise UserError(f"Tag name {name!r} is not valid in git; use letters, digits, '/', '.', '_' or '-'.")
        if "resolve" in err or "not a valid" in err:
            raise UserError(f"No commit {sha!r} in {self.branch}'s repository; pick one from `aft runs`.")
        raise gitcmd.git_error(_command_error(["tag", name], status, err), f"tag {sha} as {name}")

    def add_note(self, sha: str, data: Mapping[str, Any]) -> None:
        """Attach `data` (as JSON) to commit `sha` under refs/notes/aft, replacing any earlier note."""
        runner = self._git()
        # Notes are pushed along with the branch: no secret a trial printed may reach one.
        payload = (redact(json.dumps(dict(data), indent=2, sort_keys=True, default=str)) + "\n").encode("utf-8")
        args = ["notes", f"--ref={NOTES_REF}", "add", "-f", "-F", "-", f"{sha}^{{commit}}"]
        for attempt in range(40):
            status, _, err = gitcmd.run(runner, args, stdin=payload, check=False)
            if status == 0:
                return
            if "failed to resolve" in err.lower():
                raise UserError(f"No commit {sha!r} in {self.branch}'s repository; pick one from `aft runs`.")
            # Sessions in one repository share the notes ref; wait out a concurrent update.
            if "lock" not in err.lower() or attempt == 39:
                raise gitcmd.git_error(_command_error(args, status, err), f"record results on {sha}")
            time.sleep(0.05)

    def read_note(self, sha: str) -> dict[str, Any] | None:
        status, text, _ = gitcmd.run(self._git(), ["notes", f"--ref={NOTES_REF}", "show", sha], check=False)
        return _parse_json(text) if status == 0 else None

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
        admin = self._admin()
        gitcmd.run(admin, ["worktree", "remove", "--force", "--force", str(self.path)], check=False)
        if os.path.lexists(self.path):
            shutil.rmtree(self.path)  # does not follow the data links
        self._runner = None
        self._repo = None

    def discard_if_unchanged(self) -> bool:
        """Delete this session's worktree, branch, tags and record when its branch holds nothing
        but the snapshot it started from; False, with nothing deleted, otherwise.

        For a session that ended before doing anything: the person's files were never touched,
        so nothing is lost, and no empty branch or worktree is left behind.
        """
        meta_path = self._state_dir / "vcs" / f"{self._session_id}.json"
        snapshot = (_read_json(meta_path) or {}).get("snapshot")
        if not snapshot or self.head() != snapshot:
            return False
        admin = self._admin()
        self.remove_worktree()
        tags = gitcmd.try_out(admin, "for-each-ref", "--format=%(refname:short)",
                              f"refs/tags/{self._prefix}{self._session_id}/") or ""
        for tag in tags.splitlines():
            gitcmd.run(admin, ["tag", "-d", tag.strip()], check=False)
        gitcmd.run(admin, ["branch", "-D", "-q", self.branch], check=False)
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
        """Where the repository's top level sits in the person's project (the link sources)."""
        root = self._project_dir
        for _ in PurePosixPath(self._subdir).parts if self._subdir else ():
            root = root.parent
        return root

    def _admin(self) -> "git.Git":
        if self._private:
            return _private_admin(self._state_dir / "repo")
        return gitcmd.make_git(self._source_root())

    def _ensure_worktree(self) -> None:
        dot_git = self.path / ".git"
        if dot_git.exists():
            head = gitcmd.try_out(gitcmd.make_git(self.path), "symbolic-ref", "-q", "HEAD")
            if head == f"refs/heads/{self.branch}":
                return
            raise UserError(
                f"{self.path} is not the worktree of {self.branch}; move it away and resume the session again."
            )
        if os.path.lexists(self.path) and (not self.path.is_dir() or any(self.path.iterdir())):
            raise UserError(f"{self.path} exists but is not a git worktree; move it away and resume the session again.")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        gitcmd.run(self._admin(), ["worktree", "add", "-q", "-f", str(self.path), self.branch])

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
        """Project-relative path -> repository-relative POSIX path, refusing escapes."""
        text = str(rel).replace("\\", "/")
        parts = [p for p in PurePosixPath(text).parts if p not in ("", ".")]
        if not parts or text.startswith("/") or os.path.isabs(text) or ".." in parts or ".git" in parts:
            raise UserError(f"Path {rel!r} must be relative to the project and stay inside it; use e.g. 'train.py'.")
        joined = "/".join(parts)
        return f"{self._subdir}/{joined}" if self._subdir else joined

    def _locate(self, rel: str, *, writing: bool) -> tuple[Path, str]:
        repo_rel = self._repo_rel(rel)
        target = self.path / repo_rel
        if writing:
            root = os.path.realpath(self.path)
            parent = os.path.realpath(target.parent)
            if parent != root and not parent.startswith(root + os.sep):
                raise UserError(
                    f"Path {rel!r} leads out of the session worktree through a link to project data; "
                    "write to the project's own files instead."
                )
        return target, repo_rel

    def _commit_of(self, sha: str) -> str:
        commit = gitcmd.try_out(self._git(), "rev-parse", "-q", "--verify", f"{sha}^{{commit}}")
        if not commit:
            raise UserError(f"No commit {sha!r} in {self.branch}'s repository; pick one from `aft runs`.")
        return commit

    def __repr__(self) -> str:
        return f"Workspace(session={self._session_id!r}, path={str(self.path)!r}, branch={self.branch!r})"


def _command_error(args: list[str], status: int, stderr: str) -> Exception:
    import git

    return git.GitCommandError(["git", *args], status, stderr)


def _relative_inside(root: Path, paths: Iterable[Path]) -> list[str]:
    """POSIX paths relative to `root` of those `paths` that lie inside it."""
    real_root = os.path.realpath(root)
    rels: list[str] = []
    for path in paths:
        real = os.path.realpath(path)
        if real == real_root or real.startswith(real_root + os.sep):
            rel = os.path.relpath(real, real_root).replace(os.sep, "/")
            if rel != ".":
                rels.append(rel)
    return rels


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return _parse_json(path.read_text(encoding="utf-8"))
    except OSError:
        return None


def _parse_json(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
