"""Messages the app's parts post to one another on its queue."""

from __future__ import annotations

from textual.message import Message

from aft_tui.engine import events as ev


class EngineEvent(Message):
    """One engine event, delivered on the app's message queue."""

    def __init__(self, event: ev.Event) -> None:
        super().__init__()
        self.event = event
