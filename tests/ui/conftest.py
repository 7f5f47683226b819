"""Fixtures for the UI tests: the fixed recorded session, and a real engine on a real git repo."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from aft_tui.engine.engine import Engine
from aft_tui.settings import Settings

HERE = Path(__file__).resolve().parent
SESSION = HERE / "fixtures" / "session.jsonl"
QUICK_TARGET = HERE / "quick_target.py"


@pytest.fixture
def session_file() -> Path:
    return SESSION


@pytest.fixture
def quick_project(git_project):
    """A git project holding the fast stand-in training script as train.py."""
    from tests.conftest import git

    project = git_project(QUICK_TARGET, commit=False)
    shutil.move(project / "quick_target.py", project / "train.py")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "initial")
    return project


async def wait_for(pilot, condition, timeout: float = 15.0, what: str = "condition") -> None:
    """Let the app run until `condition()` holds (tests wait on state, never on fixed sleeps)."""
    import asyncio

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)


def keys(text: str) -> list[str]:
    """Characters as pilot key names."""
    names = {" ": "space", "/": "slash", ".": "full_stop", ",": "comma", "-": "minus", "'": "apostrophe"}
    return [names.get(c, c) for c in text]


@pytest.fixture
async def engine(quick_project):
    """A started engine (real workspace branch, real session log) on train.py."""
    settings = Settings()
    settings.update({"metric": "val_acc", "direction": "max", "trials": 2, "pruner": "none"}, "the test")
    eng = Engine.open(quick_project / "train.py", settings, project=quick_project)
    yield eng
    eng.close("test over")
