"""Text from a recording or a trial made inert before it reaches a terminal.

A session file can come from someone else, and a trial's output is whatever the script printed:
either may hold escape sequences that clear the screen, retitle the window, move the cursor or
write to the clipboard. Rich passes ESC through, and so does Textual's `Log`; every view prints
such text through `inert`, which removes escape sequences and control characters (newline and
tab stay).
"""

from __future__ import annotations

import re

_SEQUENCE = re.compile(
    r"""
    (?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]                     # CSI: colours, cursor moves, clear screen
    | (?:\x1b\]|\x9d)[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)  # OSC: window title, clipboard, links
    | (?:\x1b[P^_X]|[\x90\x98\x9e\x9f])[^\x1b\x9c]*(?:\x1b\\|\x9c)  # DCS, SOS, PM, APC strings
    | \x1b[ -/]*[0-~]?                                    # any other escape
    """,
    re.VERBOSE,
)
_SEQUENCE_START = re.compile(r"[\x1b\x90\x98\x9b\x9d\x9e\x9f]")
_ANY_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_DROP_CONTROLS = dict.fromkeys([*range(0x00, 0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0)])


def inert(text: str) -> str:
    """`text` without escape sequences or control characters other than newline and tab.

    Sequences are matched only where one can start (found by a one-character search) and the
    remaining controls are dropped by one `str.translate`, so a long line costs a few scans of it
    whatever it holds.
    """
    if _ANY_CONTROL.search(text) is None:
        return text
    found = _SEQUENCE_START.search(text)
    if found is not None:
        parts: list[str] = []
        kept_from = 0
        while found is not None:
            at = found.start()
            sequence = _SEQUENCE.match(text, at)
            parts.append(text[kept_from:at])
            kept_from = sequence.end() if sequence is not None else at + 1
            found = _SEQUENCE_START.search(text, kept_from)
        parts.append(text[kept_from:])
        text = "".join(parts)
    return text.translate(_DROP_CONTROLS)
