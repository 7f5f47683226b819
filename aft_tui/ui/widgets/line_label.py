"""A one-row label that is redrawn in place: the log pane's header and the status bar.

Both change while a trial floods its output. `Static.update` asks for a layout of the whole
screen each time, which at 25 flushes a second was most of the app's cost in a flood. A row
whose height is fixed by the stylesheet cannot change size with its text, so this label skips
the layout, skips text that did not change, and (where asked) draws at most `max_hz` times a
second, always ending on the newest text.
"""

from __future__ import annotations

import time
from typing import Any

from rich.text import Text
from textual.timer import Timer
from textual.widgets import Static


class LineLabel(Static):
    def __init__(self, text: str | Text = "", *, max_hz: float = 4.0, **kwargs: Any) -> None:
        super().__init__(text, markup=False, **kwargs)
        self.min_interval = 1.0 / max_hz
        self.shown: str | Text = text
        self.draws = 0
        self._wanted: str | Text = text
        self._drawn_at = 0.0
        self._timer: Timer | None = None

    def show(self, text: str | Text, *, throttle: bool = False) -> None:
        """Show `text`: now, or with `throttle` no sooner than `min_interval` after the previous draw."""
        self._wanted = text
        if text == self.shown:
            return
        wait = self._drawn_at + self.min_interval - time.monotonic() if throttle else 0.0
        if wait <= 0:
            self._draw()
        elif self._timer is None and self.is_mounted:
            self._timer = self.set_timer(wait, self._draw)

    def _draw(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        text = self._wanted
        self._drawn_at = time.monotonic()
        if text == self.shown:
            return
        self.shown = text
        self.draws += 1
        self.update(text, layout=False)  # the stylesheet fixes the height at one row
