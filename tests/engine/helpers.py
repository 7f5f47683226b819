"""Helpers for end-to-end tests that run the real `aft` CLI as a subprocess."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, git


def aft_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["OMP_NUM_THREADS"] = "1"
    env.update(extra)
    return env


def aft(cwd: Path, *args: str, timeout: float = 240, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "aft_tui", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=env or aft_env())


def aft_popen(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "aft_tui", *args], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env or aft_env())


def tree_fingerprint(project: Path) -> dict[str, str]:
    """Hash of every file in the working copy (except AFT's own folders) plus git's view of it."""
    out: dict[str, str] = {}
    for path in sorted(project.rglob("*")):
        rel = path.relative_to(project)
        if rel.parts and rel.parts[0] in (".aft", "outputs", ".git"):
            continue
        if path.is_file() and not path.is_symlink():
            out[str(rel)] = hashlib.sha256(path.read_bytes()).hexdigest()

    def git(*a: str) -> str:
        return subprocess.run(["git", *a], cwd=project, capture_output=True, text=True).stdout

    status = git("status", "--porcelain", "--untracked-files=all", "--ignored").splitlines()
    # AFT's own folders (.aft/, outputs/) are expected; everything else must be as it was.
    out["<status>"] = "\n".join(line for line in status if not line[3:].startswith((".aft/", "outputs/")))
    out["<head>"] = git("rev-parse", "HEAD")
    out["<branch>"] = git("symbolic-ref", "-q", "HEAD")
    index = project / ".git" / "index"
    out["<index>"] = hashlib.sha256(index.read_bytes()).hexdigest() if index.exists() else ""
    return out


def results(project: Path) -> list[dict]:
    path = project / "outputs" / "results.json"
    return json.loads(path.read_text()) if path.exists() else []


def session_ids(project: Path) -> list[str]:
    return sorted(p.stem for p in (project / ".aft" / "sessions").glob("*.json"))


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
