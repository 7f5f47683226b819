"""The refactor workflow through the real engine: approval, rejection with feedback, edits, repair."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from aft_tui.engine import events as ev
from aft_tui.engine.engine import Engine
from aft_tui.engine.workflow import SmokeResult, Workflow
from aft_tui.engine.trial import TrialOutcome
from aft_tui.settings import Settings
from tests.conftest import git

SCRIPT = '''\
"""A tiny pure-Python 'training' script with hard-coded hyperparameters."""
LR = 0.05
EPOCHS = 3
DROPOUT = 0.1

loss = 1.0
for epoch in range(EPOCHS):
    loss = loss * (1 - LR) + DROPOUT / 100
    print(f"epoch {epoch} val_loss: {loss:.5f}")
'''


@pytest.fixture
def project(git_project, tmp_path: Path) -> Path:
    src = tmp_path / "train.py"
    src.write_text(SCRIPT)
    return git_project(src)


def _engine(project: Path, **settings) -> Engine:
    s = Settings(trials=2, **settings)
    return Engine.open(project / "train.py", s, project=project, cwd=project)


def _decide_with(engine: Engine, approved: bool, feedback: str = "", edit=None) -> list[ev.Event]:
    seen: list[ev.Event] = []

    def on_event(event: ev.Event) -> None:
        seen.append(event)
        if isinstance(event, ev.Proposal):
            async def later() -> None:
                await asyncio.sleep(0)
                edited = edit(event.diff) if edit else None
                engine.decide(event.proposal_id, approved, feedback, edited)
            asyncio.get_running_loop().create_task(later())

    engine.subscribe(on_event)
    return seen


async def test_reject_with_feedback_changes_nothing(project: Path):
    engine = _engine(project)
    seen = _decide_with(engine, False, "keep DROPOUT hard-coded")
    await engine.start()
    assert await engine.refactor() is False
    engine.close()
    assert not any(isinstance(e, ev.CommitMade) for e in seen)
    log = (project / ".aft" / "sessions" / f"{engine.session_id}.jsonl").read_text()
    decision = next(json.loads(line) for line in log.splitlines() if '"decision"' in line)
    assert decision["approved"] is False and decision["feedback"] == "keep DROPOUT hard-coded"
    assert git(project, "show", f"aft/{engine.session_id}:train.py") == SCRIPT.rstrip("\n")


async def test_approved_refactor_is_committed_and_tunable(project: Path):
    engine = _engine(project)
    _decide_with(engine, True)
    await engine.start()
    assert await engine.refactor() is True
    summary = await engine.tune(2)
    engine.close()
    assert summary["trials"] == 2 and summary["metric"] == "val_loss"
    committed = git(project, "show", f"aft/{engine.session_id}~2:train.py")
    assert "--lr" in committed and "_aft_report" in committed


async def test_edited_diff_is_what_gets_applied(project: Path):
    engine = _engine(project)

    def edit(diff: str) -> str:
        # The person adds a comment to the refactor before approving it.
        return diff.replace("+_aft_args = ", "+# reviewed by a person\n+_aft_args = ", 1)

    seen = _decide_with(engine, True, edit=edit)
    await engine.start()
    assert await engine.refactor() is True
    engine.close()
    committed = git(project, "show", f"aft/{engine.session_id}:train.py")
    assert "# reviewed by a person" in committed
    commit = next(e for e in seen if isinstance(e, ev.CommitMade))
    assert "edited by the user" in git(project, "log", "-1", "--format=%B", commit.sha)


async def test_bisect_finds_the_parameter_that_breaks_the_smoke_run(project: Path):
    engine = _engine(project, yes=True)
    await engine.start()
    workflow = Workflow(engine)
    smoked: list[str] = []

    async def smoke(extra_args=None, label="smoke"):
        source = engine.work_script.read_text()
        smoked.append(label)
        ok = "--dropout" not in source  # lifting DROPOUT is what breaks this script
        outcome = TrialOutcome(status="ok" if ok else "failed", metric_names=["val_loss"])
        return SmokeResult(ok, outcome, "passed" if ok else "the smoke run failed: boom")

    workflow.smoke = smoke  # type: ignore[method-assign]
    discovery = workflow.inspect()
    chosen = [p.name for p in discovery.params if p.extra.get("tunable", True)]
    culprit = await workflow._bisect(discovery, chosen)
    engine.close()
    assert culprit == "dropout"
    assert set(smoked) == {"bisect"}
    assert engine.work_script.read_text() == SCRIPT  # every check restored the file
