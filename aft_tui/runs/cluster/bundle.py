"""What a cluster trial takes with it: the files of its own commit, the links to data that is not
in the commit, and the folders the person chose to ship.

The commit, not the live worktree: a trial is reproducible from its commit, and parallel trials
on one branch must not see each other's edits. Data stays where it is: a worktree links to the
project's uncommitted data by absolute path (vcs/links.py), and the worker recreates those links,
which resolve on every node that mounts the same filesystem. A folder that is not shared is named
with `--ship` and travels through Ray's object store, within a size limit.
"""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

from aft_tui.errors import UserError
from aft_tui.formatting import fmt_bytes
from aft_tui.vcs import gitcmd

SHIP_LIMIT_BYTES = 2 * 1024 ** 3
"""What `--ship` may send in all: more than this belongs on a filesystem the nodes share."""


@dataclass(frozen=True)
class CodeSource:
    """Where a trial's code comes from on this machine, and the local paths its command names."""

    worktree: Path  # the session worktree: its commit is unpacked as the worker's code folder
    commit: str
    rel_cwd: str  # the trial's working directory, relative to the worktree
    ship: tuple[tuple[str, Path], ...] = field(default_factory=tuple)  # (path in the worktree, local folder)


def archive(worktree: Path, commit: str) -> bytes:
    """The commit's files as a tar, as `git archive` writes it."""
    env = {**os.environ, **gitcmd.base_env()}
    done = subprocess.run(["git", "archive", "--format=tar", commit], cwd=worktree, env=env, capture_output=True)
    if done.returncode != 0:
        raise UserError(f"Could not pack commit {commit[:8]} for the cluster: "
                        f"{done.stderr.decode(errors='replace').strip() or 'git archive failed'}.")
    return done.stdout


def links(worktree: Path) -> dict[str, str]:
    """The worktree's links to files outside it (data AFT did not commit): path -> absolute target."""
    found: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(worktree):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        for name in [*dirnames, *filenames]:
            path = Path(dirpath) / name
            if not path.is_symlink():
                continue
            target = os.readlink(path)
            if os.path.isabs(target):
                found[path.relative_to(worktree).as_posix()] = target
        dirnames[:] = [d for d in dirnames if not (Path(dirpath) / d).is_symlink()]
    return found


_links: dict[Path, dict[str, str]] = {}


def links_once(worktree: Path) -> dict[str, str]:
    """`links` of a session worktree, walked once: AFT makes them when it creates the worktree,
    and a trial's edits never add one, so every later trial reuses the first walk."""
    if worktree not in _links:
        _links[worktree] = links(worktree)
    return _links[worktree]


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    total = 0
    for dirpath, _dirs, filenames in os.walk(path, followlinks=True):
        for name in filenames:
            try:
                total += (Path(dirpath) / name).stat().st_size
            except OSError:
                continue
    return total


def ship_folders(project_dir: Path, names: list[str], limit: int = SHIP_LIMIT_BYTES) -> tuple[tuple[str, Path], ...]:
    """The `--ship` folders as (path relative to the project, local path), checked before
    anything runs: each exists inside the project, and together they fit through the object store."""
    shipped: list[tuple[str, Path]] = []
    total = 0
    root = project_dir.resolve()
    for name in names:
        local = (project_dir / name).resolve()
        if not local.exists():
            raise UserError(f"--ship {name}: there is no {local}; name a folder of the project, e.g. --ship data/.")
        if local == root or root not in local.parents:
            raise UserError(f"--ship {name} is not a folder inside the project ({root}); ship folders inside it, "
                            "or put the data on a filesystem every node mounts.")
        total += _size(local)
        shipped.append((local.relative_to(root).as_posix(), local))
    if total > limit:
        raise UserError(f"--ship {' '.join(names)} is {fmt_bytes(total)}, more than the {fmt_bytes(limit)} AFT sends "
                        "through Ray's object store; put it on a filesystem every node mounts and drop --ship.")
    return tuple(shipped)


def pack_folder(local: Path) -> bytes:
    """A shipped folder as a tar (links followed: the node gets the data, not a dangling link)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", dereference=True) as tar:
        if local.is_file():
            tar.add(str(local), arcname=local.name)
        else:
            for entry in sorted(local.iterdir()):
                tar.add(str(entry), arcname=entry.name)
    return buffer.getvalue()
