"""The session's trial records, kept in memory.

The tuning loop asks for them several times per trial (what to propose, when to stop, the best
so far, progress). They are read from outputs/results.json once, appended to as each trial is
recorded, and read again only when the file changed under another writer: outputs/ is shared by
every session of the project (see runs/outputs.py), and only this session's records count here.
"""

from __future__ import annotations

import os
from typing import Any

from aft_tui.engine.trial_record import finite_value, is_counted


def _better(a: float, b: float | None, direction: str) -> bool:
    if b is None:
        return True
    return a > b if direction == "max" else a < b


class Ledger:
    def __init__(self, outputs: Any, session_id: str) -> None:
        self.outputs = outputs
        self.session_id = session_id
        self._records: list[dict[str, Any]] = []
        self._version: tuple[int, ...] | None = None  # results.json's identity when last read

    def _stat(self) -> tuple[int, ...]:
        try:
            info = os.stat(self.outputs.results_path)
        except FileNotFoundError:
            return ()
        return info.st_dev, info.st_ino, info.st_mtime_ns, info.st_ctime_ns, info.st_size

    def _sync(self) -> None:
        version = self._stat()  # before the read: a write in between only means one more read later
        if version != self._version:
            self._records = [r for r in self.outputs.results() if r.get("session") == self.session_id]
            self._version = version

    def records(self) -> list[dict[str, Any]]:
        """This session's records, oldest first; each call gets its own copies."""
        self._sync()
        return [dict(r) for r in self._records]

    def write(self, record: dict[str, Any]) -> None:
        """Record a trial in outputs/ (its result.json, the latest result.json, results.json)."""
        self.outputs.write_result(record)
        self._version = None  # the next read takes the file as written (parsed already, see Outputs)

    def counted(self) -> list[dict[str, Any]]:
        self._sync()
        return [r for r in self._records if is_counted(r)]

    def finished_count(self) -> int:
        self._sync()
        return sum(1 for r in self._records if is_counted(r))

    def best(self, direction: str | None) -> dict[str, Any] | None:
        """The successful trial with the best finite objective (the first of equals)."""
        self._sync()
        best, best_value = None, None
        for r in self._records:
            value = finite_value(r)
            if value is not None and _better(value, best_value, direction or "max"):
                best, best_value = r, value
        return dict(best) if best is not None else None

    def has_run(self, run_id: str) -> bool:
        self._sync()
        return any(r.get("run_id") == run_id for r in self._records)
