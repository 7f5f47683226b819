"""Pilot tests of the proposal flows (approve, reject with a reason, edit in $EDITOR) against a real engine."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from textual.widgets import Input

from aft_tui.engine import events as ev
from aft_tui.engine.session_log import read_events
from aft_tui.ui.app import AftApp
from tests.ui.conftest import keys, wait_for

DIFF = """--- a/train.py
+++ b/train.py
@@ -1,3 +1,3 @@
-LR = 0.1
+LR = 0.01
 EPOCHS = 3
"""


def _proposal() -> ev.Proposal:
    return ev.Proposal(proposal_kind="refactor", title="Lower the learning rate", diff=DIFF,
                       rationale="The loss diverges at 0.1.", files=["train.py"])


async def _started(pilot, app: AftApp, engine) -> None:
    await wait_for(pilot, lambda: engine._log is not None and app.view.session_id, what="engine start")


def _logged(engine, kind: str) -> list[ev.Event]:
    return [e for e in read_events(engine._log.path if engine._log else Path()) if e.kind == kind]


async def test_approve_with_a_key(engine):
    app = AftApp(engine, save_setting=lambda k, v: None)
    async with app.run_test(size=(160, 48)) as pilot:
        await _started(pilot, app, engine)
        task = asyncio.create_task(engine.propose(_proposal()))
        await wait_for(pilot, lambda: app.focused is app.diff, what="the diff pane to take focus")
        assert "Lower the learning rate" in str(app.diff.query_one("#diff-title").render())
        await pilot.press("a")
        decision = await asyncio.wait_for(task, 5)
        assert decision.approved and decision.by == "user"
        await wait_for(pilot, lambda: not app.view.pending(), what="the model to see the decision")
        assert [d.approved for d in _logged(engine, "decision")] == [True]


async def test_reject_with_feedback_keeps_the_reason(engine):
    app = AftApp(engine, save_setting=lambda k, v: None)
    async with app.run_test(size=(80, 24)) as pilot:
        await _started(pilot, app, engine)
        task = asyncio.create_task(engine.propose(_proposal()))
        await wait_for(pilot, lambda: app.focused is app.diff, what="the diff pane to take focus")
        assert app.active_pane == "diff"
        await pilot.press("f")
        await wait_for(pilot, lambda: isinstance(app.focused, Input) and app.focused.id == "prompt-input")
        await pilot.press(*keys("keep the schedule"), "enter")
        decision = await asyncio.wait_for(task, 5)
        assert not decision.approved
        assert decision.feedback == "keep the schedule"
        logged = _logged(engine, "decision")
        assert logged[-1].feedback == "keep the schedule" and not logged[-1].approved


async def test_edit_in_editor_approves_the_edited_diff(engine, tmp_path, monkeypatch):
    editor = tmp_path / "editor.py"
    editor.write_text("import sys\nopen(sys.argv[1], 'a').write('+# reviewed by a person\\n')\n")
    monkeypatch.setenv("EDITOR", f"{sys.executable} {editor}")
    monkeypatch.delenv("VISUAL", raising=False)
    seen: list[str | None] = []
    original_decide = engine.decide

    def spy(proposal_id, approved, feedback="", edited_diff=None):  # records what the engine was given
        seen.append(edited_diff)
        return original_decide(proposal_id, approved, feedback, edited_diff)

    engine.decide = spy
    app = AftApp(engine, save_setting=lambda k, v: None)
    async with app.run_test(size=(160, 48)) as pilot:
        await _started(pilot, app, engine)
        task = asyncio.create_task(engine.propose(_proposal()))
        await wait_for(pilot, lambda: app.focused is app.diff, what="the diff pane to take focus")
        await pilot.press("e")
        decision = await asyncio.wait_for(task, 10)
        assert decision.approved
        assert decision.feedback == "edited by the user"
        assert seen and seen[-1] == DIFF + "+# reviewed by a person\n"


async def test_the_waiting_toast_stays_off_the_diff_on_a_narrow_terminal(engine):
    """At 80 columns the toast would cover the diff; the footer lists the keys instead."""
    for size, toasts in (((80, 24), 0), ((160, 48), 1)):
        app = AftApp(engine, save_setting=lambda k, v: None)
        async with app.run_test(size=size) as pilot:
            await _started(pilot, app, engine)
            task = asyncio.create_task(engine.propose(_proposal()))
            await wait_for(pilot, lambda: app.focused is app.diff, what="the diff pane to take focus")
            await pilot.pause(0.2)
            assert len([n for n in app._notifications if "is waiting" in n.message]) == toasts, size
            await pilot.press("a")
            await asyncio.wait_for(task, 5)
