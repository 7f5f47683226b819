"""Pilot test of the replay controls: play/pause, step, seek, speed, and nothing to act on."""

from __future__ import annotations

from aft_tui.ui.app import AftApp
from aft_tui.ui.replay import ReplayController
from tests.ui.conftest import wait_for


async def test_replay_controls(session_file):
    replay = ReplayController.open(str(session_file))
    total = replay.total
    app = AftApp(replay=replay, autoplay=False, save_setting=lambda k, v: None)
    async with app.run_test(size=(160, 48)) as pilot:
        assert replay.position == 0 and not replay.playing
        await pilot.press("full_stop")
        assert replay.position == 1 and app.view.session_id
        await pilot.press("dollar_sign")
        assert replay.position == total
        assert [r.status for r in app.view.rows()] == ["ok", "ok", "pruned"]
        assert app.runs.table.row_count == 3
        await pilot.press("comma")
        assert replay.position == total - 1
        await pilot.press("0")
        assert replay.position == 0 and app.runs.table.row_count == 0 and not app.view.trials
        await pilot.press("greater_than_sign")
        assert replay.position == round(0.1 * total)
        await pilot.press("less_than_sign")
        assert replay.position == 0
        await pilot.press("plus", "plus", "plus", "plus", "plus", "plus")
        assert replay.speed == 64
        await pilot.press("minus")
        assert replay.speed == 16
        await pilot.press("space")
        # Playing (at x16 the whole recording takes 0.6 s, so on a busy machine it may be over already).
        assert replay.playing or replay.position > 0
        await wait_for(pilot, lambda: replay.at_end, timeout=20, what="playback to reach the end")
        assert not replay.playing
        assert len(app.view.trials) == 3
        assert "REPLAY" in str(app.status.render())
        # Read-only: the decision keys are not offered and typing is not possible.
        app.action_show("diff")
        await pilot.press("a")
        assert app.view.latest_proposal().pending
        assert not app.query("#chat-input")
