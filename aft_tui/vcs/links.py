"""Links from a session worktree back to project files that are not under version control.

A training script usually reads data through relative paths (`data/train.csv`), and that data is
rarely committed: it is git-ignored, or too large to snapshot. Trials run inside the worktree, so
the worktree must see those files without AFT copying gigabytes or committing them.

The rule:

* every top-level entry of the project directory that the session's snapshot does not contain
  (ignored data directories, ignored `*.csv` files, `.env`, checkpoints, virtual environments, ...)
  becomes a symbolic link at the same place in the worktree, pointing at the original;
* files and directories left out of the snapshot deeper in the tree because of their size, or
  because they are separate repositories, are linked the same way at their own path;
* never linked: AFT's state directory, the outputs directory, version-control metadata
  (`.git`, `.hg`, `.svn`) and caches (`__pycache__`, `.pytest_cache`, ...);
* an existing path in the worktree is never replaced.

Links are absolute, so a trial that writes through one writes into the project: that is the point
for data, and the reason outputs are not linked.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

NEVER_LINKED = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "__pycache__",
        ".pytest_cache",
        ".mypy_cache",
        ".ruff_cache",
        ".ipynb_checkpoints",
        ".tox",
        ".DS_Store",
    }
)


def top_level_candidates(
    project_dir: Path, snapshot_names: set[str], skip_paths: Iterable[Path]
) -> list[str]:
    """Top-level names in the project that the snapshot lacks and that should be linked."""
    skip = {os.path.normcase(os.path.abspath(p)) for p in skip_paths}
    names: list[str] = []
    try:
        entries = sorted(os.listdir(project_dir))
    except OSError:
        return names
    for name in entries:
        if name in snapshot_names or name in NEVER_LINKED:
            continue
        if os.path.normcase(os.path.abspath(project_dir / name)) in skip:
            continue
        names.append(name)
    return names


def create_links(source_root: Path, target_root: Path, rel_paths: Iterable[str]) -> list[str]:
    """Link target_root/rel -> source_root/rel for each path that exists at the source only.

    Returns the paths linked now; paths already present in the worktree are left alone.
    """
    made: list[str] = []
    for rel in rel_paths:
        source = source_root / rel
        target = target_root / rel
        if not os.path.lexists(source) or os.path.lexists(target):
            continue
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(os.path.abspath(source), target, target_is_directory=source.is_dir())
        except OSError:
            continue
        made.append(rel)
    return made
