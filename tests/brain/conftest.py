"""Fixtures for the brain's tests: the scripted OpenAI-compatible server, a planted key, and
a real engine (git repository, worktree, session log) on a tiny training script."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from tests.brain.llm_server import ScriptedLLMServer

PLANTED_KEY = "sk-test-PLANTED-KEY-12345"
MODEL = "openai/test-model"

TINY_TRAIN = textwrap.dedent('''\
    """A tiny, fast 'training' script: accuracy peaks at lr=0.01 and batch_size=32."""
    import argparse
    import json
    import math
    import os

    parser = argparse.ArgumentParser()
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()

    for epoch in range(1, args.epochs + 1):
        gap = abs(math.log10(args.lr) + 2) + abs(args.batch_size - 32) / 64
        val_acc = round(0.95 - 0.2 * gap - 0.05 / epoch, 6)
        print(f"epoch {epoch}: val_acc: {val_acc}")
        if os.environ.get("AFT_METRICS"):
            with open(os.environ["AFT_METRICS"], "a") as fh:
                fh.write(json.dumps({"epoch": epoch, "val_acc": val_acc}) + "\\n")
    ''')


@pytest.fixture
def planted_key() -> str:
    return PLANTED_KEY


@pytest.fixture
def brain(server: ScriptedLLMServer):
    from aft_tui.brain.llm import LLMBrain

    made = LLMBrain(MODEL, api_base=server.url, timeout=2.0, backoff_base=0.01)
    made.infos = []
    made.on_info = made.infos.append
    return made


CONSTANTS_TRAIN = textwrap.dedent('''\
    """Toy training with hard-coded hyperparameters."""
    import math

    LR = 0.1
    EPOCHS = 2
    for epoch in range(EPOCHS):
        val_loss = 1.0 / (1 + LR * (epoch + 1))
        print(f"epoch {epoch} val_loss: {val_loss}")
    ''')


@pytest.fixture
def tiny_project(git_project) -> Path:
    project = git_project()
    (project / "train.py").write_text(TINY_TRAIN)
    (project / "const_train.py").write_text(CONSTANTS_TRAIN)
    from tests.conftest import git

    git(project, "add", "train.py", "const_train.py")
    git(project, "commit", "-q", "-m", "add the training scripts")
    return project


@pytest.fixture
async def engine_factory(tiny_project: Path):
    from aft_tui.engine.engine import Engine
    from aft_tui.settings import Settings

    engines = []

    async def make(script: str = "train.py", **settings_values):
        settings = Settings()
        settings.update({"metric": "val_acc", "direction": "max", "trials": 3, "pruner": "none", **settings_values},
                        "the test")
        engine = Engine.open(tiny_project / script, settings, project=tiny_project)
        await engine.start()
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        engine.close("test over")


def read_events(engine) -> list[dict]:
    import json

    from aft_tui.engine.session import log_path

    path = log_path(engine.state_dir, engine.session_id)
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


os.environ.setdefault("OMP_NUM_THREADS", "1")
