"""The app's panes and how they are laid out (a mixin of `AftApp`).

Large terminals show every pane in a grid; small ones (below `COMPACT_WIDTH` x `COMPACT_HEIGHT`)
show one pane at a time behind tabs, decided again on every resize. Showing a pane also gives
it the keyboard.
"""

from __future__ import annotations

from typing import Any

from textual import events
from textual.geometry import Size
from textual.widgets import Tab, Tabs

from aft_tui.ui.widgets.conversation import ConversationPane
from aft_tui.ui.widgets.diff_pane import DiffPane
from aft_tui.ui.widgets.gpu_pane import GpuPane
from aft_tui.ui.widgets.log_pane import LogPane
from aft_tui.ui.widgets.runs_pane import RunsPane
from aft_tui.ui.widgets.status_bar import StatusBar

PANES: tuple[tuple[str, str, str], ...] = (
    ("conversation", "Chat", "f2"),
    ("diff", "Diff", "f3"),
    ("logs", "Logs", "f4"),
    ("gpu", "GPU", "f5"),
    ("runs", "Runs", "f6"),
)


class PaneLayout:
    COMPACT_WIDTH = 120
    COMPACT_HEIGHT = 32
    active_pane: str
    read_only: bool
    size: Any

    # -- pane access --------------------------------------------------------------------------------
    @property
    def conversation(self) -> ConversationPane:
        return self.query_one(ConversationPane)

    @property
    def diff(self) -> DiffPane:
        return self.query_one(DiffPane)

    @property
    def logs(self) -> LogPane:
        return self.query_one(LogPane)

    @property
    def runs(self) -> RunsPane:
        return self.query_one(RunsPane)

    @property
    def gpu(self) -> GpuPane:
        return self.query_one(GpuPane)

    @property
    def status(self) -> StatusBar:
        return self.query_one(StatusBar)

    # -- layout -------------------------------------------------------------------------------------
    def on_resize(self, event: events.Resize) -> None:
        self._apply_layout(event.size)

    def _apply_layout(self, size: Size | None = None) -> None:
        compact = self._is_compact(size or self.size)
        self.set_class(compact, "-compact")
        if compact and not self.query("#pane-tabs"):
            self.mount(self._pane_tabs(), before="#panes")

    def _is_compact(self, size: Size) -> bool:
        width, height = size
        return width < self.COMPACT_WIDTH or height < self.COMPACT_HEIGHT

    def _pane_tabs(self) -> Tabs:
        tabs = [Tab(f"{label} {key.upper()}", id=f"tab-{name}") for name, label, key in PANES]
        return Tabs(*tabs, active=f"tab-{self.active_pane}", id="pane-tabs")

    @property
    def compact(self) -> bool:
        return self.has_class("-compact")

    def action_show(self, name: str) -> None:
        self.active_pane = name
        for pane_name, _, _ in PANES:
            self.query_one(f"#{pane_name}").set_class(pane_name == name, "-active")
        if name == "conversation":
            self.conversation.shown()
        for tabs in self.query("#pane-tabs").results(Tabs):
            if tabs.active != f"tab-{name}":
                tabs.active = f"tab-{name}"
        self._focus_pane(name)

    def _focus_pane(self, name: str) -> None:
        if name == "conversation":
            if self.read_only:
                self.query_one("#chat-log").focus()
            else:
                self.conversation.focus_input()
        elif name == "diff":
            self.diff.focus()
        elif name == "logs":
            self.logs.view.focus()
        elif name == "runs":
            self.runs.table.focus()
        else:
            self.gpu.focus()

    def on_tabs_tab_activated(self, event: Tabs.TabActivated) -> None:
        name = (event.tab.id or "").removeprefix("tab-")
        if name and name != self.active_pane:
            self.action_show(name)
