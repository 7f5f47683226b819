"""The append-only session log: one JSON event per line, flushed as it happens.

A crash loses at most the line being written; `read_events` skips a torn last line so a
session killed mid-write can still be replayed and resumed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterator

from aft_tui.engine.events import Event, TrialLog, event_from_dict, field_names
from aft_tui.fsutil import json_safe
from aft_tui.redaction import redact


def event_record(event: Event) -> dict[str, Any]:
    """The event as the session log stores it: its fields, then its kind (non-finite numbers
    spelled as in every JSON file AFT writes, see fsutil.json_safe)."""
    data = {name: json_safe(getattr(event, name)) for name in field_names(type(event))}
    data["kind"] = event.kind
    return data


class SessionLog:
    """Writes events for one session to `<state>/sessions/<id>.jsonl`."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Line-buffered text append: each event is one write + flush.
        self._fh = open(self.path, "a", encoding="utf-8", buffering=1)
        if not _ends_a_line(self.path):  # a resume after a kill mid-write: the torn line stays its own
            self._fh.write("\n")

    def append(self, event: Event) -> None:
        # Lines are redacted where they enter AFT; this is the second line of defence, for text
        # from any other source (an exception, a reply) that reaches an event.
        line = redact(json.dumps(event_record(event), ensure_ascii=False, default=str))
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


# A line of trial output longer than this is cut where the session log keeps it and where a
# replay reads it back; the whole line stays in the trial's log file. A single 10 MB line (a
# tensor printed whole) would otherwise be copied into the session log, and into every view.
LINE_CHARS_KEPT = 4000

# The session log keeps the first lines of each trial's output so a replay on another machine
# shows what happened; the whole log stays in outputs/<run-id>/<run-id>.log.
LOG_LINES_KEPT_PER_TRIAL = 400
LOG_CHARS_KEPT_PER_TRIAL = 100_000


def clip_line(line: str, limit: int = LINE_CHARS_KEPT, where: str = "") -> str:
    """`line`, or its first `limit` characters and a note saying how much was cut and where it is whole."""
    if len(line) <= limit:
        return line
    whole = f"; the whole line is in {where}" if where else ""
    return f"{line[:limit]} … [{len(line) - limit:,} more characters cut{whole}]"


def trial_log_file(run_id: str) -> str:
    """Where a trial's whole output is, as a note in a cut line can name it."""
    return f"outputs/{run_id}/{run_id}.log" if run_id else "the trial's log file"


class SessionReader:
    """Reads a session log's events, keeping account of the lines it could not read.

    A session log can be damaged (a disk error, a bad copy, a hand edit) or hold a line from a
    newer or older AFT: such a line is skipped and counted, so the rest of the session still
    replays and the person is told which lines are missing. The last line torn by AFT being
    killed mid-write is normal and only noted in `torn`.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.skipped: list[tuple[int, str]] = []  # (line number, why it was skipped)
        self.torn = False

    def __iter__(self) -> Iterator[Event]:
        self.skipped, self.torn = [], False
        with open(self.path, "rb") as fh:
            for number, raw in enumerate(fh, start=1):
                if not raw.strip():
                    continue
                try:
                    event = _decode(raw)
                except ValueError as exc:
                    if raw.endswith(b"\n"):
                        self.skipped.append((number, str(exc)))
                    else:  # only the last line can lack its newline
                        self.torn = True
                    continue
                if isinstance(event, TrialLog) and any(len(line) > LINE_CHARS_KEPT for line in event.lines):
                    where = trial_log_file(event.run_id)
                    event.lines = [clip_line(line, where=where) for line in event.lines]
                yield event

    def summary(self) -> str:
        """One sentence on the skipped lines ("" when none), naming the file and the lines."""
        if not self.skipped:
            return ""
        count = len(self.skipped)
        numbers = ", ".join(str(n) for n, _ in self.skipped[:8]) + (", …" if count > 8 else "")
        first, why = self.skipped[0]
        if len({reason for _, reason in self.skipped}) > 1:
            why = f"line {first}: {why}, …"
        return (f"Skipped {count} unreadable line{'s' if count > 1 else ''} of {self.path} "
                f"(line{'s' if count > 1 else ''} {numbers}; {why}); the other events are shown.")


def _ends_a_line(path: Path) -> bool:
    """Whether appending to `path` starts a new line (an empty file does)."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            if fh.tell() == 0:
                return True
            fh.seek(-1, os.SEEK_END)
            return fh.read(1) == b"\n"
    except OSError:
        return True


def _decode(raw: bytes) -> Event:
    """One line of a session log as an event; ValueError says why it is not one."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:  # a damaged byte inside an otherwise readable event
        text = raw.decode("utf-8", "replace")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise ValueError("not JSON") from None
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    return event_from_dict(data)


def read_events(path: Path) -> Iterator[Event]:
    """Yield events from a session file, skipping torn or damaged lines instead of failing
    (use `SessionReader` to learn which lines were skipped)."""
    yield from SessionReader(path)


def sessions_dir(state_dir: Path) -> Path:
    return Path(state_dir) / "sessions"
