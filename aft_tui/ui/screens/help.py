"""Every key and every command on one screen, built from the bindings themselves."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from aft_tui.slash_commands import COMMANDS


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape", "close", "Close"), Binding("f1", "close", "Close", show=False),
                Binding("q", "close", "Close", show=False)]

    def __init__(self, sections: list[tuple[str, list[tuple[str, str]]]], read_only: bool = False) -> None:
        super().__init__()
        self._sections = sections
        self._read_only = read_only

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box", classes="modal-box"):
            yield Static(Text("AFT keys and commands", style="bold"), id="help-title")
            for title, rows in self._sections:
                table = Table(title=title, title_justify="left", show_header=False, box=None, padding=(0, 2, 0, 0))
                table.add_column(style="bold", no_wrap=True)
                table.add_column()
                for key, description in rows:
                    table.add_row(key, description)
                yield Static(table, classes="help-section")
            commands = Table(title="Commands (type in the conversation; free text goes to the assistant)",
                             title_justify="left", show_header=False, box=None, padding=(0, 2, 0, 0))
            commands.add_column(style="bold", no_wrap=True)
            commands.add_column()
            for spec in COMMANDS:
                if self._read_only and not spec.read_only:
                    continue
                alias = f" (also /{', /'.join(spec.aliases)})" if spec.aliases else ""
                commands.add_row(spec.usage, spec.help + alias)
            yield Static(commands, classes="help-section")
            yield Static("Escape closes this screen.", classes="modal-hint")

    def action_close(self) -> None:
        self.dismiss(None)


def binding_rows(bindings: list[Binding | tuple]) -> list[tuple[str, str]]:
    """(keys as shown, description) per described binding; keys doing the same thing share a row."""
    rows: dict[str, list[str]] = {}
    for item in bindings:
        b = item if isinstance(item, Binding) else Binding(*item)
        if not b.description:
            continue
        keys = [b.key_display] if b.key_display else [_pretty(k) for k in b.key.split(",")]
        shown = rows.setdefault(b.description, [])
        shown.extend(k for k in keys if k not in shown)
    return [(" / ".join(keys), description) for description, keys in rows.items()]


_NAMES = {"left_square_bracket": "[", "right_square_bracket": "]", "slash": "/", "full_stop": ".", "comma": ",",
          "less_than_sign": "<", "greater_than_sign": ">", "plus": "+", "minus": "-", "dollar_sign": "$",
          "pagedown": "PgDn", "pageup": "PgUp", "escape": "Esc", "enter": "Enter", "space": "Space"}


def _pretty(key: str) -> str:
    key = key.strip()
    if key in _NAMES:
        return _NAMES[key]
    if key.startswith("f") and key[1:].isdigit():
        return key.upper()
    return "+".join(part.capitalize() if part in ("ctrl", "alt", "shift") else part for part in key.split("+"))
