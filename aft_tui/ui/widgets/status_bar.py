"""The one-line status bar: session, branch, best so far, trial k/N, budget left, model spending (and replay state)."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static

from aft_tui.ui.model import SessionModel

_ORDER = ("pending", "trial", "best", "budget", "llm", "branch", "session")


class StatusBar(Static):
    def sync(self, model: SessionModel, prefix: str = "", busy: str = "") -> None:
        fields: dict[str, Any] = model.status_fields()
        text = Text()
        if prefix:
            text.append(f" {prefix} ", style="reverse bold")
            text.append(" ")
        if busy:
            text.append(f"⟳ {busy} ", style="bold")
        parts = []
        for key in _ORDER:
            if key in fields:
                parts.append((key, str(fields[key])))
        for i, (key, value) in enumerate(parts):
            if i:
                text.append(" │ ", style="dim")
            if key == "pending":
                text.append(value, style="bold reverse")
            else:
                text.append(f"{key} ", style="dim")
                text.append(value, style="bold" if key in ("best", "trial") else "")
        self.update(text)
