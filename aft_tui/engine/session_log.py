"""The append-only session log: one JSON event per line, flushed as it happens.

A crash loses at most the line being written; `read_events` skips a torn last line so a
session killed mid-write can still be replayed and resumed.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Iterator

from aft_tui.engine.events import Event, event_from_dict


def _clean(value: Any) -> Any:
    """JSON has no NaN/inf: store them as strings so the log stays valid JSON for any reader."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


class SessionLog:
    """Writes events for one session to `<state>/sessions/<id>.jsonl`."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Line-buffered text append: each event is one write + flush.
        self._fh = open(self.path, "a", encoding="utf-8", buffering=1)

    def append(self, event: Event) -> None:
        line = json.dumps(_clean(event.to_dict()), ensure_ascii=False, default=str)
        self._fh.write(line + "\n")
        self._fh.flush()

    def sync(self) -> None:
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def close(self) -> None:
        if not self._fh.closed:
            self._fh.close()

    def __enter__(self) -> "SessionLog":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_events(path: Path) -> Iterator[Event]:
    """Yield events from a session file, skipping a torn or corrupt line instead of failing."""
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if not line:
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(data, dict):
                yield event_from_dict(data)


def sessions_dir(state_dir: Path) -> Path:
    return Path(state_dir) / "sessions"
