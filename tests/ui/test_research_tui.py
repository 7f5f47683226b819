"""/research in the TUI: code experiments wait in a queue the person approves ahead while numeric
experiments go on, and words typed while it runs steer it. A real engine, real trials."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from aft_tui.engine.engine import Engine
from aft_tui.settings import Settings
from aft_tui.ui.app import AftApp
from tests.conftest import git
from tests.engine.research.fixture_script import SCRIPT
from tests.ui.conftest import wait_for

pytest.importorskip("torch")


@pytest.fixture
def torch_project(tmp_path: Path) -> Path:
    project = tmp_path / "proj"
    project.mkdir()
    git(project, "init", "-q", "-b", "main")
    (project / "train.py").write_text(SCRIPT)
    (project / ".gitignore").write_text("outputs/\n")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "initial")
    return project


def _state(project: Path) -> dict:
    found = list((project / "outputs" / "research").glob("*/state.json"))
    return json.loads(found[0].read_text()) if found else {}


def _experiments(project: Path) -> list[dict]:
    folders = list((project / "outputs" / "research").glob("*/experiments.json"))
    return json.loads(folders[0].read_text()) if folders else []


async def test_code_experiments_wait_for_approval_while_numeric_ones_run(torch_project: Path):
    settings = Settings()
    settings.update({"metric": "val_loss", "direction": "min", "pruner": "none", "seed": 4}, "the test")
    engine = Engine.open(torch_project / "train.py", settings, project=torch_project)
    app = AftApp(engine, save_setting=lambda k, v: None)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: engine._log is not None and app.view.session_id, what="engine start")
            app.submit("/research --experiments 9")  # three baselines (across seeds), a confirmation or two
            # The refactor that exposes the script's metric reporting is the first proposal.
            await wait_for(pilot, lambda: app.view.pending(), timeout=60, what="the refactor proposal")
            await pilot.press("a")
            await wait_for(pilot, lambda: any(p.proposal_kind == "experiment" for p in app.view.pending()),
                           timeout=240, what="a code experiment waiting for approval")
            waiting_since = len(_experiments(torch_project))
            # Research does not wait for the person: another experiment finishes meanwhile.
            await wait_for(pilot, lambda: len(_experiments(torch_project)) > waiting_since, timeout=60,
                           what="an experiment finishing while the code change waits")
            app.submit("try label smoothing next")
            await pilot.press("a")
            app.submit("/research pause")
            await wait_for(pilot, lambda: _state(torch_project).get("paused") is True, what="the pause")
            paused_at = len(_experiments(torch_project))
            await wait_for(pilot, lambda: engine.trials_in_flight() == 0, timeout=60, what="the running experiment")
            await pilot.pause(3.0)  # paused: no new experiment starts
            assert len(_experiments(torch_project)) <= paused_at + 1 and engine.trials_in_flight() == 0
            app.submit("/research resume")
            await wait_for(pilot, lambda: any(e["kind"] == "code" for e in _experiments(torch_project)),
                           timeout=240, what="the approved code experiment")
            await wait_for(pilot, lambda: len(_experiments(torch_project)) >= 9, timeout=180, what="the session end")
            # Changes still waiting when research ends are closed as not run: none is left "to review".
            await wait_for(pilot, lambda: not app.view.pending(), timeout=60, what="undecided changes to be closed")
    finally:
        engine.close("test over")
    experiments = _experiments(torch_project)
    first_code = next(i for i, e in enumerate(experiments) if e["kind"] == "code")
    assert first_code > waiting_since  # it ran after numeric experiments that went on while it waited
    assert _state(torch_project)["steer"] == ["try label smoothing next"]
    assert _state(torch_project)["paused"] is False
