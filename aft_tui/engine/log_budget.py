"""How much of each trial's output the session log keeps.

The session log keeps the first lines of each trial's output so a replay on another machine
shows what happened; the whole log stays in outputs/<run-id>/<run-id>.log.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aft_tui.engine import events as ev
from aft_tui.engine.session_log import LINE_CHARS_KEPT, LOG_CHARS_KEPT_PER_TRIAL, LOG_LINES_KEPT_PER_TRIAL, clip_line


class LogBudget:
    def __init__(self, outputs: Any, project: Path) -> None:
        self.outputs = outputs
        self.project = project
        self._logged_lines: dict[str, int] = {}
        self._logged_chars: dict[str, int] = {}

    def for_log(self, event: ev.Event) -> ev.Event | None:
        """The event as the session log keeps it, or None when it is not kept.

        A trial's output is kept up to LOG_LINES_KEPT_PER_TRIAL lines and LOG_CHARS_KEPT_PER_TRIAL
        characters, each line cut at LINE_CHARS_KEPT with a note naming the trial's log file, which
        has everything: one 10 MB line would otherwise be copied whole into the session log.
        """
        if not isinstance(event, ev.TrialLog):
            return event
        lines, chars = self._logged_lines.get(event.run_id, 0), self._logged_chars.get(event.run_id, 0)
        if lines >= LOG_LINES_KEPT_PER_TRIAL or chars >= LOG_CHARS_KEPT_PER_TRIAL:
            return None
        self._logged_lines[event.run_id] = lines + len(event.lines)
        if all(len(line) <= LINE_CHARS_KEPT for line in event.lines):
            self._logged_chars[event.run_id] = chars + sum(map(len, event.lines))
            return event
        log_file = self.outputs.log_path(event.run_id)
        where = str(log_file.relative_to(self.project)) if log_file.is_relative_to(self.project) else str(log_file)
        kept = [clip_line(line, where=where) for line in event.lines]
        self._logged_chars[event.run_id] = chars + sum(map(len, kept))
        return ev.TrialLog(run_id=event.run_id, lines=kept, ts=event.ts)
