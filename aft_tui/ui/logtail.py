"""Read the end of a trial's log file without loading a multi-gigabyte log into memory."""

from __future__ import annotations

import os
from pathlib import Path

BLOCK = 64 * 1024


def tail_lines(path: Path, count: int, max_bytes: int = 8 * 1024 * 1024) -> tuple[list[str], bool]:
    """The last `count` lines of `path` and whether earlier lines exist that were not read.

    Blocks are collected and joined once (prepending each block to the text read so far, and
    counting its newlines again, took time quadratic in the bytes read: a log ending in one
    10 MB line). When even the last line is longer than `max_bytes`, its end is returned, marked.
    """
    blocks: list[bytes] = []
    newlines = 0
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            end = fh.tell()
            pos = end
            while pos > 0 and newlines <= count and end - pos < max_bytes:
                step = min(BLOCK, pos)
                pos -= step
                fh.seek(pos)
                block = fh.read(step)
                blocks.append(block)
                newlines += block.count(b"\n")
    except OSError:
        return [], False
    data = b"".join(reversed(blocks))
    lines = data.decode("utf-8", errors="replace").splitlines()
    truncated = pos > 0
    if truncated and lines:
        if len(lines) == 1:  # one line longer than max_bytes: show its end
            lines = ["… " + lines[0]]
        else:
            lines = lines[1:]  # the first line read may be cut in half
    if len(lines) > count:
        lines, truncated = lines[-count:], True
    return lines, truncated
