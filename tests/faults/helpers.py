"""What the fault tests share: a project holding one script, and a JSON reader as strict as
the parsers people feed AFT's files to."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import git


def strict_json(text: str) -> object:
    """`json.loads` refusing the bare NaN/Infinity Python's json module accepts by default."""

    def refuse(constant: str) -> object:
        raise ValueError(f"bare {constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


def script_project(parent: Path, script: str, name: str = "proj") -> Path:
    """A new git repository in parent/name whose one commit holds train.py (outputs/ ignored)."""
    project = parent / name
    project.mkdir()
    git(project, "init", "-q", "-b", "main")
    (project / "train.py").write_text(script)
    (project / ".gitignore").write_text("outputs/\n")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "initial")
    return project
