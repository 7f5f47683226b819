"""Fixtures for the chat views against a model: the scripted OpenAI-compatible server on
127.0.0.1 (from the brain's tests), a planted API key, and a real engine on a fast script."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
QUICK_TARGET = HERE.parent / "ui" / "quick_target.py"
PLANTED_KEY = "sk-test-PLANTED-KEY-llm-ui-67890"
MODEL = "openai/test-model"


@pytest.fixture
def planted_key() -> str:
    return PLANTED_KEY


@pytest.fixture
def project(git_project) -> Path:
    """A git project whose train.py finishes in a fraction of a second and takes --lr/--epochs flags."""
    from tests.conftest import git

    made = git_project(QUICK_TARGET, commit=False)
    shutil.move(made / "quick_target.py", made / "train.py")
    git(made, "add", "-A")
    git(made, "commit", "-q", "-m", "initial")
    return made


@pytest.fixture
def make_engine(project: Path):
    """Engines on train.py with the given settings (a model or none); closed at the end."""
    from aft_tui.engine.engine import Engine
    from aft_tui.settings import Settings

    engines = []

    def make(**values):
        settings = Settings()
        settings.update({"metric": "val_acc", "direction": "max", "trials": 2, "pruner": "none", "llm_timeout": 5.0,
                         **values}, "the test")
        engine = Engine.open(project / "train.py", settings, project=project)
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        engine.close("test over")


async def wait_for(pilot, condition, timeout: float = 20.0, what: str = "condition") -> None:
    """Let the app run until `condition()` holds (tests wait on state, never on fixed sleeps)."""
    import asyncio

    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)


def shown(widget) -> str:
    """The text a Static or Markdown widget is showing, as plain text."""
    from rich.console import Console

    content = getattr(widget, "content", None)
    if content is None or hasattr(widget, "source"):
        content = getattr(widget, "source", "")
    out = io.StringIO()
    Console(file=out, width=200, color_system=None).print(content)
    return out.getvalue()


async def type_line(pilot, app, text: str) -> None:
    """Type a line into the conversation's input and press Enter."""
    from aft_tui.ui.widgets.command_input import CommandInput

    box = app.query_one(CommandInput)
    box.focus()
    box.value = text
    await pilot.press("enter")


def aft(project: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    """`python -m aft_tui ARGS` in `project`, input piped (so no terminal: the plain views)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "COLUMNS": "160"}
    return subprocess.run([sys.executable, "-m", "aft_tui", *args], cwd=project, input=stdin, text=True,
                          capture_output=True, env=env, timeout=120)
