"""Screenshots of the main screen (small: tabs, large: grid) in two themes, from the fixed session.

The fixed session (fixtures/session.jsonl) has fixed times and no machine paths, and a replay
has no clock on screen, so the pictures are the same everywhere. After an intended change to
the look, review the new pictures and run `pytest tests/ui/test_snapshots.py --snapshot-update`.
"""

from __future__ import annotations

import pytest

from aft_tui.ui.app import AftApp
from aft_tui.ui.replay import ReplayController


@pytest.mark.parametrize("theme", ["dark", "light"])
@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_main_screen(snap_compare, session_file, size, theme):
    app = AftApp(replay=ReplayController.open(str(session_file)), autoplay=False, theme_name=theme,
                 save_setting=lambda k, v: None)

    async def at_the_end(pilot) -> None:
        await pilot.press("dollar_sign")
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=at_the_end)


def test_runs_tab_small(snap_compare, session_file):
    app = AftApp(replay=ReplayController.open(str(session_file)), autoplay=False, theme_name="high-contrast",
                 save_setting=lambda k, v: None)

    async def runs(pilot) -> None:
        await pilot.press("dollar_sign", "f6", "down", "m", "down", "m")
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=runs)
