"""Pilot tests of each flow of the Textual app against a real engine (real git, real subprocesses)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from textual.widgets import Input

from aft_tui.engine import events as ev
from aft_tui.engine.session_log import read_events
from aft_tui.ui.app import AftApp
from aft_tui.ui.screens.confirm import ConfirmScreen
from aft_tui.ui.screens.help import HelpScreen
from tests.conftest import git
from tests.ui.conftest import QUICK_TARGET, keys, wait_for

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
    await wait_for(pilot, lambda: engine._log is not None and app.model.session_id, what="engine start")


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
        await wait_for(pilot, lambda: not app.model.pending(), what="the model to see the decision")
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


async def test_trial_logs_stream_into_the_pane_and_are_searchable(engine, quick_project):
    from aft_tui.engine.trial import TrialRun, TrialSpec

    app = AftApp(engine, save_setting=lambda k, v: None)
    async with app.run_test(size=(160, 48)) as pilot:
        await _started(pilot, app, engine)
        run_id = f"{engine.session_id}-t001"
        run_dir = engine.outputs.run_dir(run_id)
        spec = TrialSpec(run_id=run_id, number=1, params={"lr": 0.01},
                         command=[sys.executable, "-u", str(QUICK_TARGET), "--lr", "0.01", "--lines", "3000"],
                         cwd=quick_project, run_dir=run_dir, log_path=engine.outputs.log_path(run_id),
                         metrics_path=engine.outputs.metrics_path(run_id))
        engine.emit(ev.TrialStarted(run_id=run_id, number=1, params={"lr": 0.01}))
        outcome = await TrialRun(spec, engine.emit, "val_acc", "max").run()
        assert outcome.status == "ok", outcome.reason
        expected = 3 * 3001
        await wait_for(pilot, lambda: app.logs.received == expected and not app.logs._pending,
                       what="every line to reach the pane")
        await pilot.pause(0.1)
        lines = app.logs.view.lines
        assert lines[-1].startswith("val_acc: ")
        assert len(lines) <= app.logs.max_lines  # bounded
        assert app.logs.run_id == run_id
        # The metric events reached the runs pane's curve.
        assert len(app.model.curve(run_id)) == 3
        # Search: '/' opens the box, Enter jumps to the first match.
        app.logs.view.focus()
        await pilot.press("slash")
        await pilot.press(*keys("val_acc"), "enter")
        assert app.logs.match_line is not None
        assert "val_acc" in lines[app.logs.match_line]
        assert not app.logs.view.auto_scroll  # a search stops following
        await pilot.press("f")
        assert app.logs.view.auto_scroll


async def test_rollback_from_the_runs_table(engine, quick_project):
    app = AftApp(engine, save_setting=lambda k, v: None)
    async with app.run_test(size=(160, 48)) as pilot:
        await _started(pilot, app, engine)
        app.submit("/tune --trials 2")
        await wait_for(pilot, lambda: app.router.active == "tune", timeout=5, what="tuning to start")
        await wait_for(pilot, lambda: app.router.active is None, timeout=60, what="tuning to finish")
        assert [r.status for r in app.model.rows()] == ["ok", "ok"]
        await pilot.press("f6")
        assert app.focused is app.runs.table
        assert app.runs.table.row_count == 2
        assert app.runs.cursor_run.endswith("t001")
        await pilot.press("R")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the confirmation")
        await pilot.press("y")
        await wait_for(pilot, lambda: any(e.role == "notice" and e.text.startswith("Rolled back")
                                          for e in app.model.messages), what="the rollback event")
    branch = f"aft/{engine.session_id}"
    head = git(quick_project, "log", "-1", "--format=%s", branch)
    assert head.startswith("rollback to trial 1")
    trial1 = engine.find_run(1)
    assert git(quick_project, "rev-parse", f"{branch}^{{tree}}") == git(quick_project, "rev-parse", f"{trial1['commit']}^{{tree}}")


async def test_theme_switch_is_applied_and_remembered(engine):
    from aft_tui.settings import user_config_path

    app = AftApp(engine, theme_name="dark")
    async with app.run_test(size=(120, 40)) as pilot:
        await _started(pilot, app, engine)
        assert app.theme == "dark"
        app.conversation.focus_input()
        await pilot.press(*keys("/theme light"), "enter")
        await wait_for(pilot, lambda: app.theme == "light", what="the light theme")
        assert app.diff.syntax_theme == "ansi_light"
        assert 'theme = "light"' in user_config_path().read_text()
        await pilot.press("ctrl+t")
        await wait_for(pilot, lambda: app.theme != "light", what="the next theme")
        assert app.theme in app.theme_specs


async def test_layout_is_tabs_when_small_and_a_grid_when_large(session_file):
    from aft_tui.ui.replay import ReplayController

    app = AftApp(replay=ReplayController.open(str(session_file)), autoplay=False, save_setting=lambda k, v: None)
    async with app.run_test(size=(80, 24)) as pilot:
        assert app.compact
        await pilot.press("f4")
        assert app.logs.display and not app.conversation.display
        await pilot.press("f6")
        assert app.runs.display and app.focused is app.runs.table
        await pilot.resize_terminal(160, 48)
        await pilot.pause(0.1)
        assert not app.compact
        assert app.logs.display and app.conversation.display and app.diff.display
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="the help screen")
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_replay_controls(session_file):
    from aft_tui.ui.replay import ReplayController

    replay = ReplayController.open(str(session_file))
    total = replay.total
    app = AftApp(replay=replay, autoplay=False, save_setting=lambda k, v: None)
    async with app.run_test(size=(160, 48)) as pilot:
        assert replay.position == 0 and not replay.playing
        await pilot.press("full_stop")
        assert replay.position == 1 and app.model.session_id
        await pilot.press("dollar_sign")
        assert replay.position == total
        assert [r.status for r in app.model.rows()] == ["ok", "ok", "pruned"]
        assert app.runs.table.row_count == 3
        await pilot.press("comma")
        assert replay.position == total - 1
        await pilot.press("0")
        assert replay.position == 0 and app.runs.table.row_count == 0 and not app.model.trials
        await pilot.press("greater_than_sign")
        assert replay.position == round(0.1 * total)
        await pilot.press("less_than_sign")
        assert replay.position == 0
        await pilot.press("plus", "plus", "plus", "plus", "plus", "plus")
        assert replay.speed == 64
        await pilot.press("minus")
        assert replay.speed == 16
        await pilot.press("space")
        assert replay.playing
        await wait_for(pilot, lambda: replay.at_end, timeout=20, what="playback to reach the end")
        assert not replay.playing
        assert len(app.model.trials) == 3
        assert "REPLAY" in str(app.status.render())
        # Read-only: the decision keys are not offered and typing is not possible.
        app.action_show("diff")
        await pilot.press("a")
        assert app.model.latest_proposal().pending
        assert not app.query("#chat-input")
