"""The one-line status bar: session, branch, best so far, trial k/N, budget left, model spending (and replay state).

It is synced after most engine events; only a changed text is drawn, in place, without a
layout of the screen (`LineLabel`).
"""

from __future__ import annotations

from typing import Any

from rich.text import Text

from aft_tui.ui.session_view import SessionView
from aft_tui.ui.terminal_text import inert
from aft_tui.ui.widgets.line_label import LineLabel

_ORDER = ("pending", "trial", "best", "budget", "llm", "branch", "session")


class StatusBar(LineLabel):
    def sync(self, view: SessionView, prefix: str = "", busy: str = "") -> None:
        fields: dict[str, Any] = view.status_fields()
        text = Text()
        if prefix:
            text.append(f" {prefix} ", style="reverse bold")
            text.append(" ")
        if busy:
            text.append(f"⟳ {busy} ", style="bold")
        parts = []
        for key in _ORDER:
            if key in fields:
                parts.append((key, inert(str(fields[key]))))  # a recording's session id or branch: plain text
        for i, (key, value) in enumerate(parts):
            if i:
                text.append(" │ ", style="dim")
            if key == "pending":
                text.append(value, style="bold reverse")
            else:
                text.append(f"{key} ", style="dim")
                text.append(value, style="bold" if key in ("best", "trial") else "")
        self.show(text)
