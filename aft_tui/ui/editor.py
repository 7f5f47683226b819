"""Open text in the person's editor ($VISUAL, else $EDITOR, else vi) and read it back.

Shared by the TUI (which suspends itself around the call) and the plain REPL.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from pathlib import Path

from aft_tui.errors import UserError


def editor_command() -> list[str]:
    raw = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    try:
        words = shlex.split(raw)
    except ValueError:
        raise UserError(f"$EDITOR is not a valid command line ({raw!r}); set it to e.g. 'nano' or 'vim'.") from None
    if not words:
        raise UserError("$EDITOR is empty; set it to your editor, e.g. export EDITOR=nano.")
    return words


def edit_text(text: str, name: str = "proposal.diff") -> str:
    """Let the person edit `text`; returns what they saved (raises UserError if the editor fails)."""
    command = editor_command()
    with tempfile.TemporaryDirectory(prefix="aft-edit-") as tmp:
        path = Path(tmp) / name
        path.write_text(text, encoding="utf-8")
        try:
            code = subprocess.call([*command, str(path)])
        except FileNotFoundError:
            raise UserError(f"The editor '{command[0]}' was not found; set $EDITOR to an installed editor.") from None
        if code != 0:
            raise UserError(f"The editor exited with status {code}; nothing was changed.")
        return path.read_text(encoding="utf-8")
