"""Test-wide environment: offline, single-threaded BLAS, isolated user config, git identity."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TARGETS = ROOT / "cookbook" / "targets"

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
os.environ.setdefault("GIT_AUTHOR_NAME", "AFT tests")
os.environ.setdefault("GIT_AUTHOR_EMAIL", "tests@aft.local")
os.environ.setdefault("GIT_COMMITTER_NAME", "AFT tests")
os.environ.setdefault("GIT_COMMITTER_EMAIL", "tests@aft.local")
for key in ("AFT_MODEL", "AFT_API_BASE"):
    os.environ.pop(key, None)


@pytest.fixture(autouse=True)
def _isolated_user_config(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("xdg")))


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def git_project(tmp_path: Path):
    """A fresh git repository with one commit, returned as a factory that copies targets in."""

    def make(*files: str | Path, name: str = "proj", commit: bool = True) -> Path:
        project = tmp_path / name
        project.mkdir()
        git(project, "init", "-q", "-b", "main")
        for f in files:
            src = Path(f)
            if not src.is_absolute():
                src = TARGETS / src
            if src.is_dir():
                shutil.copytree(src, project / src.name)
            else:
                shutil.copy2(src, project / src.name)
        (project / ".gitignore").write_text("outputs/\n")
        if commit:
            git(project, "add", "-A")
            git(project, "commit", "-q", "-m", "initial")
        return project

    return make


@pytest.fixture
def planted_key() -> str:
    """A fake API key that must never appear in anything AFT writes (folders override it)."""
    return "sk-test-PLANTED-KEY-00000"


@pytest.fixture(scope="session")
def llm_server():
    """The scripted OpenAI-compatible server on 127.0.0.1, shared by the tests that talk to a model."""
    from tests.brain.llm_server import ScriptedLLMServer

    server = ScriptedLLMServer().start()
    yield server
    server.stop()


@pytest.fixture
def server(llm_server, planted_key: str, monkeypatch: pytest.MonkeyPatch):
    """The scripted server, emptied, with the planted key in the environment."""
    llm_server.reset()
    monkeypatch.setenv("OPENAI_API_KEY", planted_key)
    yield llm_server
    llm_server.reset()
