"""The typed-lines history file, read and appended without importing prompt-toolkit.

`aft chat` only needs the past lines and a way to add one, but importing prompt-toolkit's
FileHistory pulls in the whole toolkit (hundreds of milliseconds before the first screen).
The format is the one prompt-toolkit's FileHistory uses, so the plain REPL, which does use
it, shares the same file: each entry is a `# <timestamp>` line followed by its lines, each
prefixed with `+`.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aft_tui.engine.engine import Engine


def history_path(engine: Engine) -> Path:
    """Typed lines are remembered per project, next to its sessions."""
    return Path(engine.state_dir) / "history"


def load_entries(path: Path) -> list[str]:
    """Every entry in the file, oldest first; an absent file has none."""
    entries: list[str] = []
    current: list[str] = []
    try:
        with open(path, "rb") as fh:
            raw_lines = fh.read().decode("utf-8", errors="replace").split("\n")
    except FileNotFoundError:
        return entries
    for line in raw_lines:
        if line.startswith("+"):
            current.append(line[1:])
        elif current:
            entries.append("\n".join(current))
            current = []
    if current:
        entries.append("\n".join(current))
    return entries


def append_entry(path: Path, text: str) -> None:
    """Add one entry at the end of the file (created when missing)."""
    lines = "".join(f"+{line}\n" for line in text.split("\n"))
    with open(path, "ab") as fh:
        fh.write(f"\n# {datetime.datetime.now()}\n{lines}".encode("utf-8"))
