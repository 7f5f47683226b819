"""What the person chose for a research session: its budgets, the files it may edit, who
approves what, and where notifications go."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable

from aft_tui.engine.research.notify import notify
from aft_tui.errors import UserError

EVALUATION_GRACE = 0.5
"""A script that stops itself at the time budget still evaluates: it gets this fraction of the
budget more (and at least a minute) before it is stopped from outside."""


@dataclass
class ResearchOptions:
    hours: float | None = None
    experiment_time: float | None = None      # seconds of training per experiment
    experiments: int | None = None            # at most this many experiments (None: the time budget decides)
    editable: list[str] = field(default_factory=list)   # files code experiments may change (the script by default)
    read_only: list[str] = field(default_factory=list)   # files no code experiment may change (evaluation code)
    approve: str = "numeric"                  # "numeric": code experiments wait for approval; "all": none do
    notify: str | None = None                 # a command run with a JSON summary on stdin
    budget_check: bool = False                # the script stops itself at the time budget (AFT inserted it)
    origin_commit: str = ""
    gpu: bool = False

    _SAVED = ("hours", "experiment_time", "experiments", "editable", "read_only", "approve", "notify")

    def saved(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._SAVED}

    def restore(self, saved: dict[str, Any] | None) -> None:
        """Fill what was not given now from what the session was started with."""
        defaults = ResearchOptions()
        for name in self._SAVED:
            if name in (saved or {}) and getattr(self, name) == getattr(defaults, name):
                setattr(self, name, saved[name])

    def hard_limit(self) -> float | None:
        """When AFT stops a run from outside: at the budget for a script that does not stop
        itself (recorded as stopped at the limit), later for one that does and then evaluates."""
        if not self.experiment_time:
            return None
        if not self.budget_check:
            return self.experiment_time
        return self.experiment_time + max(60.0, EVALUATION_GRACE * self.experiment_time)

    def notify_event(self, event: str, summary: dict[str, Any], say: Callable[[str], None]) -> None:
        notify(self.notify, event, summary, say)


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|secs|seconds?|m|min|mins|minutes?|h|hr|hrs|hours?)?\s*$", re.I)


def parse_duration(text: str | None) -> float | None:
    """'5m', '90s', '0.5h' or plain seconds."""
    if text is None:
        return None
    match = _DURATION.match(text)
    if not match or float(match.group(1)) <= 0:
        raise UserError(f"--experiment-time takes a positive duration such as 5m, 90s or 0.5h (got {text!r}).")
    unit = (match.group(2) or "s").lower()[0]
    return float(match.group(1)) * {"s": 1, "m": 60, "h": 3600}[unit]
