"""Read the end of a trial's log file without loading a multi-gigabyte log into memory."""

from __future__ import annotations

import os
from pathlib import Path

BLOCK = 64 * 1024


def tail_lines(path: Path, count: int, max_bytes: int = 8 * 1024 * 1024) -> tuple[list[str], bool]:
    """The last `count` lines of `path` and whether earlier lines exist that were not read."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            end = fh.tell()
            pos, data = end, b""
            while pos > 0 and data.count(b"\n") <= count and end - pos < max_bytes:
                step = min(BLOCK, pos)
                pos -= step
                fh.seek(pos)
                data = fh.read(step) + data
    except OSError:
        return [], False
    lines = data.decode("utf-8", errors="replace").splitlines()
    truncated = pos > 0
    if truncated and lines:
        lines = lines[1:]  # the first line read may be cut in half
    if len(lines) > count:
        lines, truncated = lines[-count:], True
    return lines, truncated
