"""Resolving what the user pointed at: the target script, its project and where trials run."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from aft_tui.errors import UserError


@dataclass
class TargetInfo:
    script: Path  # absolute path of the user's script
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


def resolve_target(target: str | Path, project: str | Path | None = None, cwd: Path | None = None) -> TargetInfo:
    cwd = Path(cwd or os.getcwd()).resolve()
    raw = Path(target)
    script = (cwd / raw).resolve() if not raw.is_absolute() else raw.resolve()
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
        script.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise UserError(f"The target {target} is not a readable UTF-8 Python file; pass your training script.") from None
    except OSError as exc:
        raise UserError(f"The target {target} cannot be read ({exc.strerror}); check its permissions.") from None
    if project is not None:
        root = Path(project).resolve()
    else:
        root = git_toplevel(script.parent) or script.parent
    try:
        rel_script = script.relative_to(root)
    except ValueError:
        raise UserError(f"The target {target} is outside the project {root}; pass --project to its folder.") from None
    try:
        rel_cwd = cwd.relative_to(root)
    except ValueError:
        rel_cwd = Path(".")
    return TargetInfo(script=script, project=root, rel_script=rel_script, rel_cwd=rel_cwd)
