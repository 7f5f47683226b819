"""A trial flooding its output: the log pane's header and the status bar do not re-layout the screen.

The header's line count is redrawn a few times a second, in place; the status bar only when
its text changes. Layouts of the screen are counted around a one-second flood through the
app's real event path (subscriber, message queue, model, log pane).
"""

from __future__ import annotations

import asyncio
import time

from rich.text import Text

from aft_tui.engine import events as ev
from aft_tui.ui.app import AftApp
from aft_tui.ui.widgets.line_label import LineLabel
from benchmarks.log_pane import count_layouts
from tests.ui.conftest import wait_for

RUN_ID = "flood-t001"


async def _settled(pilot, layouts: list[int], quiet_s: float = 0.3, timeout: float = 10.0) -> None:
    """Waits until start-up has stopped laying out the screen, then zeroes the count.

    A loaded machine may still be finishing the first screen's layouts after the first pause;
    what the tests measure is what their own calls cause from a quiet screen.
    """
    import asyncio

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        before = layouts[0]
        await pilot.pause(quiet_s)
        if layouts[0] == before:
            break
        if loop.time() > deadline:
            raise AssertionError("the screen never stopped laying itself out")
    layouts[0] = 0


async def test_a_flood_redraws_the_header_a_few_times_a_second_without_layouts():
    app = AftApp(save_setting=lambda k, v: None)
    batch = [f"step {i} loss {1 / (i + 1):.5f}" for i in range(200)]
    async with app.run_test(size=(160, 48)) as pilot:
        # A flood well under way: the log already holds as many lines as it keeps, so its own size
        # (which does need a layout while it grows) is settled.
        app.logs.show_run(RUN_ID, batch * (app.logs.max_lines // len(batch)), status="running")
        layouts = count_layouts(app)
        await _settled(pilot, layouts)
        header = app.logs.header
        draws_before = header.draws
        began = time.monotonic()
        sent = 0
        while time.monotonic() - began < 1.0:
            app._on_engine_emit(ev.TrialLog(run_id=RUN_ID, lines=batch))
            sent += len(batch)
            await asyncio.sleep(0.002)
        received = app.logs.max_lines + sent
        await wait_for(pilot, lambda: app.logs.received == received, what="every batch to reach the pane")
        flood_s = time.monotonic() - began
        await pilot.pause(0.4)  # the header's last, trailing draw
        assert app.logs.flushes >= 5  # the log itself kept up, at its own rate
        draws = header.draws - draws_before
        assert 1 <= draws <= 4 * flood_s + 3, f"{draws} header draws in {flood_s:.1f} s"
        # None per flush: at most the odd one (the log's width settling after the prefill).
        assert layouts[0] <= 3 and layouts[0] * 5 < app.logs.flushes, \
            f"{layouts[0]} layouts of the screen in {app.logs.flushes} flushes"
        assert f"{received:,} lines" in str(header.render())


async def test_the_status_bar_draws_only_changed_text():
    app = AftApp(save_setting=lambda k, v: None)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        status = app.status
        layouts = count_layouts(app)
        await _settled(pilot, layouts)
        drawn = status.draws
        for _ in range(50):
            app.sync_status()
        await pilot.pause()
        assert status.draws == drawn and layouts[0] == 0
        app.view.apply(ev.SessionStarted(session_id="s-1", target="train.py", branch="aft/s-1"))
        app.sync_status()
        await pilot.pause()
        assert status.draws == drawn + 1 and "aft/s-1" in str(status.render())
        assert layouts[0] == 0


async def test_a_throttled_label_ends_on_the_newest_text():
    app = AftApp(save_setting=lambda k, v: None)
    async with app.run_test(size=(160, 48)) as pilot:
        label = LineLabel("start", max_hz=4, id="probe")
        await app.screen.mount(label)
        label.show(Text("one"), throttle=True)  # the first change after a quiet spell draws at once
        assert label.draws == 1
        for word in ("two", "three", "four"):
            label.show(Text(word), throttle=True)
        assert label.draws == 1
        await wait_for(pilot, lambda: label.draws == 2, timeout=2, what="the trailing draw")
        assert str(label.render()) == "four"
        label.show(Text("four"), throttle=True)
        label.show("now", throttle=False)
        assert label.draws == 3 and str(label.render()) == "now"
