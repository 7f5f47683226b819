"""Which repository holds a project, and where its state directory is.

A project inside a git repository uses that repository (from a subdirectory, when it is one);
any other project gets a private bare repository under `<state dir>/repo`, so AFT never writes
the project directory itself, apart from the state directory.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aft_tui.errors import UserError
from aft_tui.fsutil import atomic_write_bytes
from aft_tui.vcs import gitcmd

if TYPE_CHECKING:
    import git


def resolve_state_dir(project_dir: Path, state_dir: Path | None) -> Path:
    return Path(os.path.abspath(state_dir if state_dir is not None else project_dir / ".aft"))


def prepare_state_dir(state_dir: Path) -> None:
    """Create the state directory, ignored by git so it never shows as untracked."""
    state_dir.mkdir(parents=True, exist_ok=True)
    ignore = state_dir / ".gitignore"
    try:
        current = ignore.read_bytes()
    except OSError:
        current = None
    if current != b"*\n":
        atomic_write_bytes(ignore, b"*\n", durable=False, keep_mode=True)


def project_dir_of(project_dir: Path) -> Path:
    """The project directory as an absolute path, refused in one sentence when it is missing."""
    path = Path(os.path.abspath(project_dir))
    if not path.is_dir():
        raise UserError(f"Project directory {path} does not exist; pass the folder that holds your training script.")
    return path


def find_repo(project_dir: Path) -> tuple[Path, str] | None:
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


def private_admin(repo_dir: Path) -> "git.Git":
    """Git pointed at a private bare repository (a project that is not a git repository)."""
    return gitcmd.make_git(repo_dir, {"GIT_DIR": str(repo_dir)})


def relative_inside(root: Path, paths: Iterable[Path]) -> list[str]:
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


def read_json(path: Path) -> dict[str, Any] | None:
    """A JSON object from `path`; None when it is missing, unreadable or not an object."""
    try:
        return parse_json(path.read_text(encoding="utf-8"))
    except OSError:
        return None


def parse_json(text: str | None) -> dict[str, Any] | None:
    """A JSON object from `text`; None for anything else (a torn or foreign note reads as none)."""
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
