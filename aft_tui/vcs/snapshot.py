"""The first commit of a session: a snapshot of the project exactly as the person has it now.

Inside a git repository the snapshot is the working copy (tracked files with their uncommitted
edits, and untracked files that are not ignored), built through a temporary index so the person's
own index, HEAD and branch are never touched. Outside one, the project's files are hashed straight
into AFT's private repository; nothing is written to the project.

Large untracked files and nested repositories are left out of the snapshot and reported, so the
worktree can link to them instead (see `links`).
"""

from __future__ import annotations

import os
import shutil
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from aft_tui.vcs import gitcmd
from aft_tui.vcs.links import NEVER_LINKED

if TYPE_CHECKING:
    import git

MAX_SNAPSHOT_BYTES = 50 * 1024 * 1024
"""Untracked files above this size are linked into the worktree rather than committed."""

_NEVER_COPIED = NEVER_LINKED | {".venv", "venv"}


@dataclass
class Snapshot:
    commit: str
    left_out: list[str] = field(default_factory=list)
    """Paths (relative to the snapshot's root) that exist on disk but not in the snapshot."""


def _nul(items: list[str]) -> bytes:
    return b"".join(os.fsencode(item) + b"\0" for item in items)


def snapshot_working_copy(
    runner: "git.Git",
    index_file: Path | None,
    scratch: Path,
    excluded: list[str],
    parent: str | None,
    message: str,
) -> Snapshot:
    """Commit the working copy under `runner`'s top-level directory without touching its index.

    `index_file` is the repository's own index (copied, never written, so unchanged files are not
    re-hashed); `excluded` are top-level-relative paths (AFT state, outputs) kept out entirely.
    """
    temp_index = scratch / "index"
    if index_file is not None and index_file.is_file():
        shutil.copyfile(index_file, temp_index)
    env = {"GIT_INDEX_FILE": str(temp_index), "GIT_OPTIONAL_LOCKS": "0"}
    # git refuses an exclude pathspec that names an ignored path ("paths are ignored"), and an
    # ignored path needs no excluding anyway: keep only the ones git would otherwise add.
    if excluded:
        _, ignored_out, _ = gitcmd.run(runner, ["check-ignore", "--no-index", "-z", "--stdin"], env=env,
                                       stdin=_nul(list(excluded)), check=False, keep_newline=True)
        ignored = {item.rstrip("/") for item in ignored_out.split("\0") if item}
        excluded = [p for p in excluded if p.rstrip("/") not in ignored]
    excludes = [f":(exclude,literal){p}" for p in excluded]

    _, listing, _ = gitcmd.run(
        runner,
        ["ls-files", "-z", "--others", "--exclude-standard", "--", ".", *excludes],
        env=env,
        keep_newline=True,
    )
    left_out: list[str] = []
    root = Path(str(runner.working_dir))
    for rel in filter(None, listing.split("\0")):
        if rel.endswith("/"):  # a nested repository: git would record an empty gitlink
            left_out.append(rel.rstrip("/"))
            continue
        try:
            size = os.lstat(root / rel).st_size
        except OSError:
            continue
        if size > MAX_SNAPSHOT_BYTES:
            left_out.append(rel)

    specs = ["."] + excludes + [f":(exclude,literal){p}" for p in left_out]
    gitcmd.run(
        runner,
        ["add", "-A", "--pathspec-from-file=-", "--pathspec-file-nul"],
        env=env,
        stdin=_nul(specs),
    )
    if excluded:
        gitcmd.run(
            runner,
            ["rm", "-r", "-q", "--cached", "--ignore-unmatch", "--pathspec-from-file=-", "--pathspec-file-nul"],
            env=env,
            stdin=_nul([f":(literal){p}" for p in excluded]),
        )
    tree = gitcmd.out(runner, "write-tree", env=env)
    args = ["commit-tree", tree, "-m", message]
    if parent:
        args += ["-p", parent]
    return Snapshot(commit=gitcmd.out(runner, *args), left_out=left_out)


def collect_files(project_dir: Path, skip_paths: list[Path]) -> tuple[list[tuple[str, str]], list[str]]:
    """Files to import from a directory that is not a repository, and paths to link instead.

    Returns ([(relative path, git mode)], [relative paths left out]). Version-control metadata,
    caches, compiled files, AFT state and outputs are skipped silently; virtual environments,
    directory links and files above MAX_SNAPSHOT_BYTES are left out (and later linked).
    """
    skip = {os.path.normcase(os.path.abspath(p)) for p in skip_paths}
    files: list[tuple[str, str]] = []
    left_out: list[str] = []

    def rel_of(full: str) -> str:
        return os.path.relpath(full, project_dir).replace(os.sep, "/")

    for root, dirs, names in os.walk(project_dir):
        keep: list[str] = []
        for name in dirs:
            full = os.path.join(root, name)
            if name in NEVER_LINKED or os.path.normcase(os.path.abspath(full)) in skip:
                continue
            if name in _NEVER_COPIED or os.path.islink(full) or os.path.exists(os.path.join(full, "pyvenv.cfg")):
                left_out.append(rel_of(full))
                continue
            keep.append(name)
        dirs[:] = sorted(keep)
        for name in sorted(names):
            full = os.path.join(root, name)
            if name in NEVER_LINKED or name.endswith((".pyc", ".pyo")) or "\n" in name:
                continue
            if os.path.normcase(os.path.abspath(full)) in skip:
                continue
            try:
                info = os.stat(full)
            except OSError:  # a dangling link
                continue
            if not stat.S_ISREG(info.st_mode):
                continue
            if info.st_size > MAX_SNAPSHOT_BYTES:
                left_out.append(rel_of(full))
                continue
            files.append((rel_of(full), "100755" if info.st_mode & stat.S_IXUSR else "100644"))
    return files, left_out


def snapshot_directory(
    runner: "git.Git",
    project_dir: Path,
    scratch: Path,
    skip_paths: list[Path],
    message: str,
) -> Snapshot:
    """Commit a plain directory into the repository `runner` points at (a root commit)."""
    files, left_out = collect_files(project_dir, skip_paths)
    env = {"GIT_INDEX_FILE": str(scratch / "index")}
    if files:
        paths = b"".join(os.fsencode(str(project_dir / rel)) + b"\n" for rel, _ in files)
        _, hashed, _ = gitcmd.run(runner, ["hash-object", "-w", "--no-filters", "--stdin-paths"], stdin=paths)
        shas = hashed.split()
        if len(shas) != len(files):
            raise RuntimeError("git hash-object returned an unexpected number of objects")
        info = b"".join(
            f"{mode} {sha}\t".encode() + os.fsencode(rel) + b"\0"
            for (rel, mode), sha in zip(files, shas)
        )
        gitcmd.run(runner, ["update-index", "-z", "--add", "--index-info"], env=env, stdin=info)
    tree = gitcmd.out(runner, "write-tree", env=env)
    commit = gitcmd.out(runner, "commit-tree", tree, "-m", message)
    return Snapshot(commit=commit, left_out=left_out)
