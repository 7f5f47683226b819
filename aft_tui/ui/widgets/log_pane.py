"""The logs pane: a trial's output, following the tail, searchable.

A trial can print far faster than a terminal can draw, so lines are buffered and written to
the `Log` widget on a timer (`flush_hz` times a second). Between two flushes only the newest
`flush_cap` lines are kept (a bounded deque), and the widget itself keeps `max_lines`: memory
stays bounded however much a trial prints, and the UI does a bounded amount of work per
frame. Lines skipped that way are counted in the pane; the complete log is on disk. The
header's line count follows a flood a few times a second, redrawn in place (`LineLabel`).
"""

from __future__ import annotations

from collections import deque
from typing import Any, Iterable

from rich.highlighter import Highlighter
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, Log

from aft_tui.engine.session_log import clip_line, trial_log_file
from aft_tui.ui.terminal_text import inert
from aft_tui.ui.widgets.line_label import LineLabel


class _SearchHighlighter(Highlighter):
    def __init__(self) -> None:
        self.query = ""

    def highlight(self, text: Text) -> None:
        if self.query:
            text.highlight_words([self.query], style="reverse bold", case_sensitive=False)


class LogPane(Vertical):
    BINDINGS = [
        Binding("f", "toggle_follow", "Follow tail"),
        Binding("slash", "search", "Search", key_display="/"),
        Binding("n", "find(1)", "Next match"),
        Binding("N", "find(-1)", "Previous match"),
        Binding("left_square_bracket", "trial(-1)", "Previous trial", key_display="["),
        Binding("right_square_bracket", "trial(1)", "Next trial", key_display="]"),
        Binding("escape", "close_search", "Close search", show=False),
    ]

    class TrialRequested(Message):
        """The person asked to see another trial's log; the app supplies its lines."""

        def __init__(self, run_id: str) -> None:
            super().__init__()
            self.run_id = run_id

    def __init__(self, max_lines: int = 5000, flush_hz: float = 25.0, flush_cap: int = 2000, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_lines = max_lines
        self.flush_hz = flush_hz
        self.run_id = ""
        self.status = ""
        self.pinned = False  # True while the person looks at a trial other than the newest
        self.received = 0  # lines received for the shown trial
        self.skipped = 0  # lines not drawn because they arrived faster than the flush cap
        self.flushes = 0
        self._runs: list[str] = []
        self._pending: deque[str] = deque(maxlen=flush_cap)
        self._since_flush = 0
        self._note = ""
        self._highlighter = _SearchHighlighter()
        self._matches: list[int] = []
        self._match = -1

    def compose(self) -> ComposeResult:
        yield LineLabel("No trial output yet.", id="log-header")
        log = Log(max_lines=self.max_lines, highlight=True, auto_scroll=True, id="log-view")
        log.highlighter = self._highlighter
        yield log
        yield Input(placeholder="search this log (Enter: find, Escape: close)", id="log-search")

    def on_mount(self) -> None:
        self.query_one("#log-search", Input).display = False
        self.set_interval(1.0 / self.flush_hz, self.flush)

    @property
    def flush_cap(self) -> int:
        return self._pending.maxlen or 0

    @flush_cap.setter
    def flush_cap(self, lines: int) -> None:
        self._pending = deque(self._pending, maxlen=max(1, lines))

    @property
    def view(self) -> Log:
        return self.query_one("#log-view", Log)

    # -- feeding -----------------------------------------------------------------------------------
    def set_runs(self, run_ids: list[str]) -> None:
        self._runs = list(run_ids)

    def trial_started(self, run_id: str) -> None:
        if run_id not in self._runs:
            self._runs.append(run_id)
        if not self.pinned:
            self.show_run(run_id, [], status="running")

    def trial_finished(self, run_id: str, status: str) -> None:
        if run_id == self.run_id:
            self.status = status
            self._update_header()

    def feed(self, run_id: str, lines: Iterable[str]) -> None:
        """Called for every batch of output; cheap: it only buffers."""
        if run_id != self.run_id:
            return
        lines = list(lines) if not isinstance(lines, list) else lines
        self._pending.extend(lines)
        self._since_flush += len(lines)
        self.received += len(lines)

    def flush(self) -> None:
        if not self._pending:
            return
        lines = list(self._pending)
        self._pending.clear()
        skipped = self._since_flush - len(lines)
        self._since_flush = 0
        if skipped > 0:
            self.skipped += skipped
            lines.insert(0, f"… {skipped:,} lines arrived too fast to show; the full log is on disk")
        self.view.write_lines(self._shown(lines))
        self.flushes += 1
        self._update_header(throttle=True)

    def show_run(self, run_id: str, lines: list[str], status: str = "", note: str = "", received: int | None = None) -> None:
        """Replace the pane's content with `lines` of `run_id` (newest last)."""
        self.run_id, self.status, self._note = run_id, status, note
        if run_id and run_id not in self._runs:
            self._runs.append(run_id)
        self._pending.clear()
        self._since_flush = 0
        self.received = received if received is not None else len(lines)
        self.skipped = 0
        self._matches, self._match = [], -1
        view = self.view
        view.clear()
        view.auto_scroll = True
        if lines:
            view.write_lines(self._shown(lines[-self.max_lines:]))
        self._update_header()

    def _shown(self, lines: list[str]) -> list[str]:
        """Lines as the pane draws them: escape sequences removed (a script's colours, or a recording
        that would clear the terminal) and very long lines cut, with the file that has them whole.

        `Log` passes ESC through to the terminal, and redraws a visible line from its whole text on
        every frame: a 64 KB line would make each frame slow.
        """
        where = trial_log_file(self.run_id)
        return [clip_line(inert(line), where=where) for line in lines]

    def reset(self) -> None:
        self._runs = []
        self.pinned = False
        self.show_run("", [])

    # -- header ------------------------------------------------------------------------------------
    @property
    def header(self) -> LineLabel:
        return self.query_one("#log-header", LineLabel)

    def _update_header(self, throttle: bool = False) -> None:
        """Redraw the header; `throttle` for the flush timer, so a flood redraws it a few times a second."""
        header = self.header
        if not self.run_id:
            header.show("No trial output yet.")
            return
        text = Text()
        text.append(inert(self.run_id), style="bold")
        if self.status:
            text.append(f" · {inert(self.status)}")
        text.append(f" · {self.received:,} lines")
        if self.skipped:
            text.append(f" ({self.skipped:,} skipped)", style="dim")
        text.append(" · following" if self.view.auto_scroll else " · paused (f follows)",
                    style="green" if self.view.auto_scroll else "yellow")
        if self._highlighter.query:
            found = f"{self._match + 1}/{len(self._matches)}" if self._matches else "no match"
            text.append(f" · '{self._highlighter.query}' {found}")
        if self._note:
            text.append(f" · {inert(self._note)}", style="dim")
        header.show(text, throttle=throttle)

    # -- keys -----------------------------------------------------------------------------------------
    def action_toggle_follow(self) -> None:
        view = self.view
        view.auto_scroll = not view.auto_scroll
        if view.auto_scroll:
            view.scroll_end(animate=False)
        self._update_header()

    def action_search(self) -> None:
        box = self.query_one("#log-search", Input)
        box.display = True
        box.value = self._highlighter.query
        box.focus()

    def action_close_search(self) -> None:
        box = self.query_one("#log-search", Input)
        if box.display:
            box.display = False
            self.view.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id != "log-search":
            return
        event.stop()
        self.search(event.value)
        event.input.display = False
        self.view.focus()

    def search(self, query: str) -> int:
        """Highlight `query` and jump to its first match after the top line; returns the match count."""
        self._highlighter.query = query.strip()
        view = self.view
        view.notify_style_update()
        view.refresh()
        needle = self._highlighter.query.lower()
        self._matches = [i for i, line in enumerate(view.lines) if needle and needle in line.lower()]
        self._match = -1
        if self._matches:
            top = int(view.scroll_y)
            self._match = next((k for k, i in enumerate(self._matches) if i >= top), 0) - 1
            self.action_find(1)
        else:
            self._update_header()
        return len(self._matches)

    def action_find(self, delta: int) -> None:
        if not self._matches:
            return
        self._match = (self._match + delta) % len(self._matches)
        view = self.view
        view.auto_scroll = False
        view.scroll_to(y=max(0, self._matches[self._match] - 2), animate=False)
        self._update_header()

    def action_trial(self, delta: int) -> None:
        if not self._runs:
            return
        index = self._runs.index(self.run_id) if self.run_id in self._runs else len(self._runs) - 1
        index = max(0, min(len(self._runs) - 1, index + delta))
        self.pinned = index != len(self._runs) - 1
        self.post_message(self.TrialRequested(self._runs[index]))

    @property
    def match_line(self) -> int | None:
        return self._matches[self._match] if self._matches and self._match >= 0 else None
