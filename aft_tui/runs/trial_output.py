"""A trial's output, from whole pipe reads to lines: for the log file, the tail, the views and the metrics.

Training scripts print a million lines, draw progress bars with carriage returns and sometimes
a line of megabytes without a newline. Each pipe read is handled at once, as one batch:
secrets are removed first (so every reader gets the redacted text), the log file gets every
line as printed, a redrawn line keeps only its latest state, and a line longer than
`LINE_LIMIT` reaches the views in pieces (cut before a token, never through a UTF-8 character).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import IO

from aft_tui.redaction import redact
from aft_tui.runs.metrics import MetricRecord, may_hold_metrics, parse_line

LINE_LIMIT = 64 * 1024  # a line without a newline is flushed in pieces of this size
TAIL_LINES = 60


def _last_cr_segment(line: str) -> str:
    """What a terminal would show for a line redrawn with carriage returns."""
    stripped = line.rstrip("\r")
    cut = stripped.rfind("\r")
    return stripped[cut + 1 :] if cut >= 0 else stripped


def _split_long(lines: list[str]) -> list[str]:
    out: list[str] = []
    for line in lines:
        if len(line) <= LINE_LIMIT:
            out.append(line)
        else:
            out.extend(line[i : i + LINE_LIMIT] for i in range(0, len(line), LINE_LIMIT))
    return out


# Where a line too long to hold is cut into pieces, the cut is moved back to the last separator
# within this many bytes: each piece is redacted on its own, and a token cut in two would not be
# recognised in either half.
_TOKEN_SPAN = 1024
_SEPARATORS = frozenset(b" \t,;\"'()[]{}<>|")


def _piece_end(pending: bytes) -> int:
    """Where to cut the first piece off a line longer than LINE_LIMIT: after the last separator
    near the limit (never inside a token), else at the limit; never inside a UTF-8 character."""
    for i in range(LINE_LIMIT - 1, LINE_LIMIT - 1 - _TOKEN_SPAN, -1):
        if pending[i] in _SEPARATORS:
            return i + 1
    cut = LINE_LIMIT
    while cut < len(pending) and cut > LINE_LIMIT - 4 and (pending[cut] & 0xC0) == 0x80:
        cut -= 1  # do not split a UTF-8 character
    return cut


class TrialOutput:
    """One trial's stream of output; `log` is the open log file once the trial has one.

    `param_names` (never reported as metrics: they are the trial's parameters) and `metric`
    (always kept) are what printed lines are read with (`parse_line`).
    """

    def __init__(
        self,
        param_names: frozenset[str],
        metric: str | None,
        on_lines: Callable[[list[str]], None] | None = None,
        on_metrics: Callable[[list[MetricRecord]], None] | None = None,
    ) -> None:
        self.param_names = param_names
        self.metric = metric
        self.on_lines = on_lines
        self.on_metrics = on_metrics
        self.log: IO[str] | None = None
        self.pending = b""
        self.tail: deque[str] = deque(maxlen=TAIL_LINES)

    def feed(self, chunk: bytes) -> None:
        data = self.pending + chunk if self.pending else chunk
        cut = data.rfind(b"\n")
        if cut < 0:
            self.pending = data
        else:
            self.pending = data[cut + 1 :]
            text = data[:cut].decode("utf-8", "replace")
            lines = text.split("\n")
            if "\r" in text:
                lines = [_last_cr_segment(line) if "\r" in line else line for line in lines]
            self._emit(lines, text)
        pending = self.pending
        if b"\r" in pending:
            # An endless progress bar redraws one line forever: keep only its latest state.
            cut = pending.rstrip(b"\r").rfind(b"\r")
            if cut > 0:
                self.pending = pending = pending[cut:]
        while len(pending) >= LINE_LIMIT:
            cut = _piece_end(pending)
            piece, pending = pending[:cut], pending[cut:]
            self.pending = pending
            decoded = piece.decode("utf-8", "replace")
            self._emit([_last_cr_segment(decoded)], decoded, ends_line=False)

    def flush(self) -> None:
        """The last line, printed without a newline before the script ended."""
        if self.pending:
            decoded = self.pending.decode("utf-8", "replace")
            self.pending = b""
            self._emit([_last_cr_segment(decoded)], decoded)

    def _emit(self, lines: list[str], text: str, ends_line: bool = True) -> None:
        """`ends_line` False: a piece of a line longer than LINE_LIMIT that has not ended yet; the
        views see it as a line of its own, the log file carries on the same line."""
        # Secrets are removed here, at the source: the log file, the tail (and so the failure
        # reason and diagnosis), the views and the session log all receive the redacted lines.
        joined = "\n".join(lines)
        cleaned = redact(joined)
        if cleaned is not joined:
            lines = cleaned.split("\n")
        if self.log is not None:
            self.log.write(cleaned)
            if ends_line:
                self.log.write("\n")
            self.log.flush()
        if len(text) > LINE_LIMIT:  # the log file has each line as printed; the views get pieces
            lines = _split_long(lines)
        self.tail.extend(lines[-TAIL_LINES:])
        if self.on_lines is not None:
            self.on_lines(lines)
        if self.on_metrics is not None and may_hold_metrics(text):
            records = [r for r in (parse_line(line, self.param_names, self.metric) for line in lines) if r is not None]
            if records:
                self.on_metrics(records)
