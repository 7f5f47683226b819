"""What the first screen of `aft chat` leaves for later, and that each part still appears when needed.

Markdown (markdown-it, Pygments), Rich's Syntax (Pygments) and plotext are imported on the first
answer, the first diff and the first data to plot; telemetry starts once the screen is drawn;
the tabs of the small layout are made when the terminal is small.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

from rich.console import Console
from textual.widgets import Tabs

from aft_tui.engine import events as ev
from aft_tui.telemetry.sampler import Sampler
from aft_tui.ui.app import AftApp
from aft_tui.ui.widgets.learning_plot import LearningPlot, plotext_available
from tests.ui.conftest import wait_for

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import asyncio, json, sys
from aft_tui.ui.app import AftApp

LATER = ("textual.widgets._markdown", "markdown_it", "pygments", "rich.syntax", "textual_plotext", "plotext")

async def main():
    app = AftApp(save_setting=lambda k, v: None)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        print(json.dumps([name for name in LATER if name in sys.modules]))

asyncio.run(main())
"""


def test_the_first_screen_imports_none_of_the_later_parts():
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


async def test_answers_diffs_and_plots_still_appear():
    from textual.widgets import Markdown

    app = AftApp(save_setting=lambda k, v: None)
    async with app.run_test(size=(160, 48)) as pilot:
        plots = list(app.query(LearningPlot))
        assert all(plot.chart is None for plot in plots)  # text until there is data
        for event in (ev.SessionStarted(session_id="s", target="train.py", branch="aft/s",
                                        settings={"metric": "val_loss", "direction": "min"}),
                      ev.AssistantMessage(text="**Tuned**: lr 0.01", final=True),
                      ev.Proposal(proposal_id="p1", proposal_kind="refactor", title="t",
                                  diff="--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n"),
                      ev.TrialStarted(run_id="s-t001", number=1, params={"lr": 0.01}),
                      ev.TrialMetric(run_id="s-t001", step=1, epoch=1, values={"val_loss": 0.5}),
                      ev.TrialFinished(run_id="s-t001", number=1, status="ok", value=0.5)):
            app._on_engine_emit(event)
        await wait_for(pilot, lambda: app.query(Markdown), what="the answer as Markdown")
        await wait_for(pilot, lambda: app.diff.current is not None, what="the proposal in the Diff pane")
        code = app.diff.query_one("#diff-code").content
        out = io.StringIO()
        Console(file=out, width=80, color_system=None).print(code)
        assert "+b" in out.getvalue()
        if plotext_available():
            await wait_for(pilot, lambda: all(plot.chart is not None for plot in plots), what="plotext charts")
            assert not app.query(".plot-text")


async def test_telemetry_starts_after_the_first_screen_and_stops_with_the_app():
    started: list[Sampler] = []

    def start() -> Sampler:
        sampler = Sampler(interval=0.2).start()
        started.append(sampler)
        return sampler

    app = AftApp(start_sampler=start, save_setting=lambda k, v: None)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: started and app.sampler is started[0], what="the sampler to start")
        await wait_for(pilot, lambda: "CPU" in str(app.gpu.query_one("#sys-numbers").render()),
                       what="the first reading")
    assert not started[0].running


async def test_no_telemetry_is_said_plainly():
    app = AftApp(start_sampler=lambda: None, save_setting=lambda k, v: None)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: "Telemetry is off" in str(app.gpu.query_one("#gpu-state").render()),
                       what="the note that telemetry is off")
        assert app.sampler is None


async def test_tabs_appear_when_the_terminal_becomes_small():
    app = AftApp(save_setting=lambda k, v: None)
    async with app.run_test(size=(160, 48)) as pilot:
        assert not app.query(Tabs)
        await pilot.press("f4")
        await pilot.resize_terminal(80, 24)
        await wait_for(pilot, lambda: app.query(Tabs), what="the tabs")
        await pilot.pause()
        tabs = app.query_one(Tabs)
        assert tabs.active == "tab-logs" and tabs.display
        assert app.logs.display and not app.conversation.display
        await pilot.press("f6")
        assert tabs.active == "tab-runs" and app.runs.display
        await pilot.resize_terminal(160, 48)
        await pilot.pause()
        assert not tabs.display and app.conversation.display
