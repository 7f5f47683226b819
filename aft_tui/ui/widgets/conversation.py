"""The conversation pane: the session's narrative, the assistant's streamed answers, the input line.

It draws `SessionView.messages` (the engine's events, already worded) and, between them,
the results of commands the person typed. Assistant text is Markdown and grows in place
while it streams.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widget import Widget
from textual.widgets import Static

from aft_tui.ui.session_view import ChatEntry, SessionView
from aft_tui.ui.terminal_text import inert
from aft_tui.ui.widgets.command_input import CommandInput

if TYPE_CHECKING:
    from textual.widgets import Markdown

# Widgets kept in the scrollback; older ones are removed (the session log has everything).
MAX_ENTRIES = 250
_PREFIX = {"user": "› ", "info": "· ", "notice": "★ ", "error": "✗ "}


class ConversationPane(Vertical):
    def __init__(self, complete: Callable[[str], list[str]], history: list[str] | None = None,
                 remember: Callable[[str], None] | None = None, read_only: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._complete = complete
        self._history = history
        self._remember = remember
        self._read_only = read_only
        self._drawn_serial = 0
        self._streaming: dict[int, tuple[ChatEntry, Markdown, str]] = {}
        self._catch_up_due = False
        self._follow = True  # at the newest message, as the person last left it

    def compose(self) -> ComposeResult:
        yield VerticalScroll(id="chat-log")
        if self._read_only:
            yield Static("Read-only replay: the footer and F1 list the keys.", id="chat-readonly")
        else:
            yield CommandInput(self._complete, self._history, self._remember, id="chat-input")

    @property
    def scrollback(self) -> VerticalScroll:
        return self.query_one("#chat-log", VerticalScroll)

    def focus_input(self) -> None:
        for widget in self.query(CommandInput):
            widget.focus()

    # -- drawing from the session view ----------------------------------------------------
    def reset(self) -> None:
        self.scrollback.remove_children()
        self._drawn_serial = 0
        self._streaming.clear()

    def sync(self, view: SessionView) -> None:
        """Draw entries added since the last call and grow the ones still streaming."""
        new = view.message_serial - self._drawn_serial
        if new > 0:
            entries = list(view.messages)[-min(new, len(view.messages), MAX_ENTRIES):]
            self._mount([self._entry_widget(e) for e in entries])
            self._drawn_serial = view.message_serial
        self._grow_streams()

    def _grow_streams(self) -> None:
        """Bring streaming answers up to date with their entries.

        A Markdown widget sets its text from its constructor when it mounts, replacing anything
        appended before; so pieces that arrive before the mount wait, and are drawn right after it.
        """
        self._catch_up_due = False
        waiting = False
        for key, (entry, widget, drawn) in list(self._streaming.items()):
            if widget.parent is None:  # scrolled out of the kept entries before it was drawn
                del self._streaming[key]
                continue
            if not widget.is_mounted:
                waiting = True
                continue
            if entry.final:
                if entry.text != drawn:
                    widget.update(inert(entry.text))
                del self._streaming[key]
            elif entry.text != drawn:
                if entry.text.startswith(drawn):
                    widget.append(inert(entry.text[len(drawn):]))
                else:
                    widget.update(inert(entry.text))
                self._streaming[key] = (entry, widget, entry.text)
        if waiting and not self._catch_up_due:
            self._catch_up_due = True
            self.call_after_refresh(self._grow_streams)

    def _entry_widget(self, entry: ChatEntry) -> Widget:
        if entry.role == "assistant":
            # Imported on the first answer: Markdown brings markdown-it and Pygments, which the
            # first screen of a new session does not need.
            from textual.widgets import Markdown

            widget = Markdown(inert(entry.text), classes="entry assistant")
            if not entry.final:
                self._streaming[id(entry)] = (entry, widget, entry.text)
            return widget
        text = Text(_PREFIX.get(entry.role, "") + inert(entry.text))
        return Static(text, classes=f"entry {entry.role}", markup=False)

    # -- view-local output: commands and their results -----------------------------------------
    def show_command(self, line: str) -> None:
        if not line.startswith("/"):
            return  # free text comes back as a user_message event
        self._mount([Static(Text("› " + inert(line)), classes="entry command")])

    def show_result(self, kind: str, text: str, renderable: Any = None) -> None:
        if not text and renderable is None:
            return
        classes = "entry result" + (" error" if kind == "error" else "")
        if renderable is not None:
            self._mount([Static(renderable, classes=classes)])
        else:
            self._mount([Static(Text(inert(text)), classes=classes)])

    def _mount(self, widgets: list[Widget]) -> None:
        log = self.scrollback
        if self.display and log.size.height:  # hidden behind another pane, its scroll says nothing
            self._follow = log.is_vertical_scroll_end or log.max_scroll_y == 0
        excess = len(log.children) + len(widgets) - MAX_ENTRIES
        if excess > 0:
            for child in list(log.children)[:excess]:
                child.remove()
        log.mount_all(widgets)
        if self._follow:
            log.call_after_refresh(log.scroll_end, animate=False)

    def shown(self) -> None:
        """Back from another pane: what arrived meanwhile is at the end, unless the person had
        scrolled up to read. (A pane hidden by the layout gets no Show event when it returns.)"""
        if self._follow:
            self.scrollback.call_after_refresh(self.scrollback.scroll_end, animate=False)
