"""Real git repositories for the workspace tests, with git's configuration isolated from the machine."""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def isolated_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A global git config of our own, so the machine's settings cannot change the results."""
    home = tmp_path / "home"
    home.mkdir()
    config = home / ".gitconfig"
    config.write_text("[user]\n\tname = Test Person\n\temail = person@example.com\n[init]\n\tdefaultBranch = main\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for var in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL",
                "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "EMAIL", "GIT_CONFIG_COUNT"):
        monkeypatch.delenv(var, raising=False)
    return config


def git(cwd: Path, *args: str, check: bool = True) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    if check and done.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {done.stderr}")
    return done.stdout.strip()


@pytest.fixture
def run_git() -> Callable[..., str]:
    return git


def _hash_tree(root: Path, skip_dirs: set[str]) -> dict[str, str]:
    digests: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in skip_dirs]
        for name in dirnames + filenames:
            full = Path(dirpath, name)
            rel = full.relative_to(root).as_posix()
            mode = oct(os.lstat(full).st_mode)
            if full.is_symlink():
                digests[rel] = f"link {os.readlink(full)} {mode}"
            elif full.is_file():
                digests[rel] = hashlib.sha256(full.read_bytes()).hexdigest() + " " + mode
            elif full.is_dir():
                digests[rel] = "dir " + mode
    return digests


def fingerprint(repo_root: Path) -> dict[str, Any]:
    """Everything AFT promises never to change in a person's repository."""
    git_dir = Path(git(repo_root, "rev-parse", "--absolute-git-dir"))
    index = git_dir / "index"
    return {
        # The index is read first: `git status` below must not get a chance to rewrite it.
        "index": hashlib.sha256(index.read_bytes()).hexdigest() if index.exists() else None,
        "files": _hash_tree(repo_root, {".git", ".aft"}),
        "status": git(repo_root, "--no-optional-locks", "status", "--porcelain=v1", "-uall"),
        "head": git(repo_root, "rev-parse", "-q", "--verify", "HEAD", check=False),
        "branch": git(repo_root, "symbolic-ref", "-q", "HEAD", check=False),
        "user_refs": [
            line for line in git(repo_root, "for-each-ref", "--format=%(refname) %(objectname)").splitlines()
            if not line.startswith(("refs/heads/aft/", "refs/tags/aft/", "refs/notes/aft"))
        ],
        "config": (git_dir / "config").read_text(),
    }


@pytest.fixture
def snapshot_of() -> Callable[[Path], dict[str, Any]]:
    return fingerprint


@pytest.fixture
def hash_tree() -> Callable[[Path, set[str]], dict[str, str]]:
    return _hash_tree


def make_repo(root: Path) -> Path:
    """A small committed project: a training script, a helper module and git-ignored data."""
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q")
    (root / "train.py").write_text("import helper\nLR = 0.1\nprint(open('data/train.txt').read())\n")
    (root / "helper.py").write_text("VALUE = 1\n")
    (root / ".gitignore").write_text("data/\n*.csv\n")
    (root / "data").mkdir()
    (root / "data" / "train.txt").write_text("rows\n")
    (root / "extra.csv").write_text("a,b\n1,2\n")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "initial")
    return root


@pytest.fixture
def new_repo() -> Callable[[Path], Path]:
    return make_repo


@pytest.fixture
def user_repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "project")
