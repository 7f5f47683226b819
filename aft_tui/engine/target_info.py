"""Resolving what the user pointed at: the target script, its project and where trials run.

The project is where the person stands: the repository (or folder) holding the path they typed,
found without following a link on that path. A link is followed only to the file it names, and
that file must lie inside the project: a session's branch and worktree hold the project's files,
so a script (or folder) linked in from outside would run code AFT cannot commit, and its state
and outputs would land next to the link's destination instead of in the project.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from aft_tui.errors import UserError
from aft_tui.target.source_text import read_source


@dataclass
class TargetInfo:
    script: Path  # absolute path of the user's script (links resolved: the file that runs)
    project: Path  # project root (git top level, or the script's folder)
    rel_script: Path  # script relative to project
    rel_cwd: Path  # where trials run, relative to project (mirrors the user's cwd when inside)


def git_toplevel(path: Path) -> Path | None:
    try:
        out = subprocess.run(["git", "-C", str(path), "rev-parse", "--show-toplevel"],
                             capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    return Path(out.stdout.strip())


@dataclass
class _Link:
    path: Path  # the link as typed (absolute, not resolved)
    shown: str  # how to name it to the person: relative to where they stand when inside it
    destination: Path  # where it leads (resolved)
    project: Path  # the project on the link's side: the repository (or folder) holding the link
    is_script: bool  # the script itself is the link (else a folder on its path is)


def resolve_target(target: str | Path, project: str | Path | None = None, cwd: Path | None = None) -> TargetInfo:
    cwd = Path(cwd or os.getcwd()).resolve()
    raw = Path(target)
    given = Path(os.path.abspath(cwd / raw))  # as typed: no link on the way is followed
    script = given.resolve()
    if not script.exists():
        raise UserError(f"The target {target} does not exist; pass the path of your training script, e.g. `aft tune train.py`.")
    if script.is_dir():
        raise UserError(f"The target {target} is a folder, not a file; pass the training script inside it, e.g. {target}/train.py.")
    if script.suffix == ".ipynb":
        raise UserError(
            f"{target} is a notebook, which AFT cannot run yet; convert it with "
            f"`jupyter nbconvert --to script {target}` and pass the .py file."
        )
    if script.suffix != ".py":
        raise UserError(f"The target {target} is not a Python file (.py); pass the training script AFT should run.")
    try:
        read_source(script)
    except OSError as exc:
        raise UserError(f"The target {target} cannot be read ({exc.strerror}); check its permissions.") from None
    link = _first_link(given, cwd)
    physical = git_toplevel(script.parent)
    if project is not None:
        root = Path(project).resolve()
    elif link is None:
        root = physical or script.parent
    elif _inside(script, link.project):
        # A link that stays in the project: the repository of the file it leads to (a nested
        # repository's own, as for a path typed directly), or the folder holding the link.
        root = physical if physical is not None and _inside(physical, link.project) else link.project
    else:
        raise UserError(_leaves_project(target, link, link.project))
    try:
        rel_script = script.relative_to(root)
    except ValueError:
        if link is not None and not _inside(link.destination, root):
            raise UserError(_leaves_project(target, link, root)) from None
        raise UserError(f"The target {target} is outside the project {root}; pass --project to its folder.") from None
    try:
        rel_cwd = cwd.relative_to(root)
    except ValueError:
        rel_cwd = Path(".")
    return TargetInfo(script=script, project=root, rel_script=rel_script, rel_cwd=rel_cwd)


def _first_link(given: Path, cwd: Path) -> _Link | None:
    """The first link on the typed path that decides which project the person is in.

    Counted: the script itself (its folder is the project when no repository holds it), and a
    folder link inside a git repository that does not ignore it. A link above the project outside
    any repository (a home folder mounted elsewhere, /tmp on macOS) only says where the disk is.
    """
    parts = given.parts
    for depth in range(2, len(parts) + 1):
        path = Path(*parts[:depth])
        if not path.is_symlink():
            continue
        container = path.parent.resolve()
        top = git_toplevel(container)
        is_script = path == given
        if not is_script and (top is None or _ignored(top, container / path.name)):
            continue
        try:
            shown = str(path.relative_to(cwd))
        except ValueError:
            shown = str(path)
        return _Link(path=path, shown=shown, destination=path.resolve(), project=top or container,
                     is_script=is_script)
    return None


def _ignored(top: Path, path: Path) -> bool:
    try:
        rel = os.path.relpath(path, top)
        out = subprocess.run(["git", "-C", str(top), "check-ignore", "-q", "--", rel], capture_output=True, timeout=10)
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0


def _leaves_project(target: str | Path, link: _Link, root: Path) -> str:
    fix = "AFT runs and commits only the project's files"
    if link.is_script:
        return (f"The target {target} is a link to {link.destination}, outside the project {root}; {fix}, "
                "so copy the script into the project instead of linking it.")
    return (f"The target {target} lies in {link.shown}, a link to {link.destination} outside the project {root}; "
            f"{fix}, so copy {link.shown} into the project instead of linking it.")


def _inside(path: Path, root: Path) -> bool:
    path, root = Path(os.path.realpath(path)), Path(os.path.realpath(root))
    return path == root or root in path.parents
