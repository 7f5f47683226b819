"""Paths a caller names (relative to the project directory) mapped into the repository and the
worktree, refusing any that would leave them.

The project directory may be a subdirectory of the repository (`subdir`); ignored data is linked
into the worktree, so a path that resolves through such a link would write into the person's own
files, and is refused for writing.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from aft_tui.errors import UserError


def repo_relative(subdir: str, rel: str) -> str:
    """Project-relative path -> repository-relative POSIX path, refusing escapes."""
    text = str(rel).replace("\\", "/")
    parts = [p for p in PurePosixPath(text).parts if p not in ("", ".")]
    if not parts or text.startswith("/") or os.path.isabs(text) or ".." in parts or ".git" in parts:
        raise UserError(f"Path {rel!r} must be relative to the project and stay inside it; use e.g. 'train.py'.")
    joined = "/".join(parts)
    return f"{subdir}/{joined}" if subdir else joined


def locate(worktree: Path, subdir: str, rel: str, *, writing: bool) -> tuple[Path, str]:
    """(file in the worktree, repository-relative path) of a project-relative path."""
    repo_rel = repo_relative(subdir, rel)
    target = worktree / repo_rel
    if writing:
        root = os.path.realpath(worktree)
        parent = os.path.realpath(target.parent)
        if parent != root and not parent.startswith(root + os.sep):
            raise UserError(
                f"Path {rel!r} leads out of the session worktree through a link to project data; "
                "write to the project's own files instead."
            )
    return target, repo_rel


def source_root(project_dir: Path, subdir: str) -> Path:
    """Where the repository's top level sits in the person's project (the link sources)."""
    root = project_dir
    for _ in PurePosixPath(subdir).parts if subdir else ():
        root = root.parent
    return root
