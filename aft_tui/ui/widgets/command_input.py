"""The conversation's input line: history on up/down, completion on tab and as ghost text."""

from __future__ import annotations

from typing import Callable

from textual.binding import Binding
from textual.message import Message
from textual.suggester import Suggester
from textual.widgets import Input

Completer = Callable[[str], list[str]]


class _RouterSuggester(Suggester):
    """Shows the first completion as dimmed text after the cursor (right arrow accepts it)."""

    def __init__(self, complete: Completer) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self._complete = complete

    async def get_suggestion(self, value: str) -> str | None:
        candidates = self._complete(value)
        return candidates[0] if candidates else None


class CommandInput(Input):
    BINDINGS = [
        Binding("up", "history(-1)", "Previous", show=False),
        Binding("down", "history(1)", "Next", show=False),
        Binding("tab", "complete", "Complete", show=False),
    ]

    class Command(Message):
        """The person submitted a line (slash command or free text)."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def __init__(self, complete: Completer, history: list[str] | None = None,
                 remember: Callable[[str], None] | None = None, **kwargs) -> None:
        super().__init__(placeholder="Type a goal or question, or /help for commands", suggester=_RouterSuggester(complete),
                         **kwargs)
        self._complete = complete
        self._history = list(history or [])
        self._remember = remember
        self._index = len(self._history)
        self._cycle: list[str] = []

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        self.value = ""
        self._cycle = []
        if not text:
            return
        if not self._history or self._history[-1] != text:
            self._history.append(text)
            if self._remember is not None:
                self._remember(text)
        self._index = len(self._history)
        self.post_message(self.Command(text))

    def action_history(self, delta: int) -> None:
        if not self._history:
            return
        self._index = max(0, min(len(self._history), self._index + delta))
        self.value = self._history[self._index] if self._index < len(self._history) else ""
        self.cursor_position = len(self.value)

    def action_complete(self) -> None:
        if self._cycle and self.value in self._cycle:
            nxt = self._cycle[(self._cycle.index(self.value) + 1) % len(self._cycle)]
        else:
            self._cycle = self._complete(self.value) if self.value else []
            if not self._cycle:
                self.screen.focus_next()
                return
            nxt = self._cycle[0]
        self.value = nxt
        self.cursor_position = len(nxt)
