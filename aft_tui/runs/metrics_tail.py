"""Following the metrics file (`AFT_METRICS`) while a trial appends JSON lines to it.

A file that already exists when the trial starts is treated as history: only lines appended
after the start are read, so a rerun in the same folder is not credited with old values. Each
line is parsed exactly once, and a bad line is named (file and line number) and skipped.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from aft_tui.runs.metrics import MetricRecord, parse_metrics_file_line


def _display_path(path: Path) -> str:
    try:
        return path.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return str(path)


class MetricsFileTail:
    """Follows the metrics file as the script appends to it; each line is parsed exactly once."""

    def __init__(
        self,
        path: Path,
        deliver: Callable[[list[MetricRecord]], None],
        warn: Callable[[str], None],
    ) -> None:
        self.path = path
        self.display = _display_path(path)
        self.deliver = deliver
        self.warn = warn
        self.offset = 0
        self.lineno = 0
        self.partial = b""
        try:
            with open(path, "rb") as f:
                existing = f.read()
            self.offset = len(existing)
            self.lineno = existing.count(b"\n")
            if existing and not existing.endswith(b"\n"):
                # The old last line is complete history too; new lines start on the next one.
                self.lineno += 1
        except OSError:
            pass

    def poll(self, final: bool = False) -> None:
        try:
            size = os.stat(self.path).st_size
        except OSError:
            return
        if size < self.offset:  # replaced or truncated: start over
            self.offset, self.lineno, self.partial = 0, 0, b""
        data = b""
        if size > self.offset:
            try:
                with open(self.path, "rb") as f:
                    f.seek(self.offset)
                    data = f.read()
            except OSError:
                return
            self.offset += len(data)
        data = self.partial + data
        if final:
            pieces = data.split(b"\n")
            if pieces and pieces[-1] == b"":
                pieces.pop()
            self.partial = b""
        else:
            cut = data.rfind(b"\n")
            if cut < 0:
                self.partial = data
                return
            pieces, self.partial = data[:cut].split(b"\n"), data[cut + 1 :]
        records: list[MetricRecord] = []
        for raw in pieces:
            self.lineno += 1
            text = raw.decode("utf-8", "replace").strip()
            if not text:
                continue
            try:
                records.append(parse_metrics_file_line(text))
            except ValueError as exc:
                self.warn(f"{self.display} line {self.lineno} {exc}; that line was skipped.")
        if records:
            self.deliver(records)
