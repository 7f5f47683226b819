"""Pilot tests of the panes against a real engine: streaming logs, rollback from the runs table, themes, layout."""

from __future__ import annotations

import sys

from aft_tui.engine import events as ev
from aft_tui.ui.app import AftApp
from aft_tui.ui.screens.confirm import ConfirmScreen
from aft_tui.ui.screens.help import HelpScreen
from tests.conftest import git
from tests.ui.conftest import QUICK_TARGET, keys, wait_for


async def _started(pilot, app: AftApp, engine) -> None:
    await wait_for(pilot, lambda: engine._log is not None and app.view.session_id, what="engine start")


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
        assert len(app.view.curve(run_id)) == 3
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
        assert [r.status for r in app.view.rows()] == ["ok", "ok"]
        await pilot.press("f6")
        assert app.focused is app.runs.table
        assert app.runs.table.row_count == 2
        assert app.runs.cursor_run.endswith("t001")
        await pilot.press("R")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the confirmation")
        await pilot.press("y")
        await wait_for(pilot, lambda: any(e.role == "notice" and e.text.startswith("Rolled back")
                                          for e in app.view.messages), what="the rollback event")
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


async def test_a_resumed_session_shows_its_earlier_trials(engine, quick_project):
    from aft_tui.engine.engine import Engine
    from aft_tui.settings import Settings
    from aft_tui.ui.launch import _earlier_events

    await engine.start()
    await engine.tune(1)
    engine.close("interrupted")
    resumed = Engine.open(None, Settings(), session_id=engine.session_id, resume=True, project=quick_project)
    earlier = _earlier_events(resumed)
    assert any(e.kind == "trial_finished" for e in earlier)
    app = AftApp(resumed, earlier=earlier, save_setting=lambda k, v: None)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: resumed._log is not None, what="the resumed engine")
        assert app.runs.table.row_count == 1
        assert app.view.rows()[0].status == "ok"
    resumed.close("test over")
