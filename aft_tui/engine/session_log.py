"""The append-only session log: one JSON event per line, flushed as it happens.

A crash loses at most the line being written; `read_events` skips a torn last line so a
session killed mid-write can still be replayed and resumed.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any, Iterator

from aft_tui.engine.events import Event, event_from_dict, field_names


def _clean(value: Any) -> Any:
    """A JSON-ready copy of `value`: containers copied, dataclasses as dicts, NaN/inf as strings.

    JSON has no NaN/inf, so they are stored as strings and the log stays valid JSON for any
    reader. One pass, no deep copies of leaves: `dataclasses.asdict` followed by a cleaning pass
    was most of the cost of logging an event.
    """
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, (str, int)) or value is None:
        return value
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _clean(getattr(value, f.name)) for f in fields(value)}
    return value


def event_record(event: Event) -> dict[str, Any]:
    """The event as the session log stores it: its fields, then its kind."""
    data = {name: _clean(getattr(event, name)) for name in field_names(type(event))}
    data["kind"] = event.kind
    return data


class SessionLog:
    """Writes events for one session to `<state>/sessions/<id>.jsonl`."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Line-buffered text append: each event is one write + flush.
        self._fh = open(self.path, "a", encoding="utf-8", buffering=1)

    def append(self, event: Event) -> None:
        line = json.dumps(event_record(event), ensure_ascii=False, default=str)
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
