"""A trial's record: the typed form of one entry of outputs/results.json.

results.json is read by `aft runs`, `aft compare`, replay, the analyzer and by people's own
scripts, so the JSON keeps its keys and their order exactly (`to_json`); keys written by other
versions of AFT, or by a caller, ride along in `extra` and come back unchanged (`from_json`).
`value`, `final` and `validation` are one number: the JSON spells it three times because the
original AutoFineTuner's readers look for `final` and `validation`.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field, fields
from typing import Any


class TrialStatus(str, enum.Enum):
    """How a trial ended. A cancelled trial (Ctrl-C, AFT killed) is recorded but runs again."""

    OK = "ok"
    PRUNED = "pruned"
    FAILED = "failed"
    TIMEOUT = "timeout"
    CANCELLED = "cancelled"

    @property
    def counted(self) -> bool:
        """Whether a trial that ended so uses up one of the session's trials."""
        return self is not TrialStatus.CANCELLED


COUNTED = tuple(s.value for s in TrialStatus if s.counted)


def is_counted(record: dict[str, Any]) -> bool:
    """`counted` for a record read back as JSON (any status this version does not know is not)."""
    return record.get("status") in COUNTED


def finite_value(record: dict[str, Any]) -> float | None:
    """The objective of a successful trial, or None (failed, pruned, no number, NaN)."""
    value = record.get("value")
    if (record.get("status") == "ok" and isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value)):
        return float(value)
    return None


# Keys written only when they have something to say (older files lack them).
_OPTIONAL = ("script_result", "diagnosis", "best_model", "node")


@dataclass
class TrialRecord:
    run_id: str
    session: str
    number: int
    optuna_trial: int | None
    status: str
    reason: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    fixed: dict[str, Any] = field(default_factory=dict)
    metric: str | None = None
    direction: str | None = None
    value: float | None = None
    best: float | None = None
    best_epoch: float | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    metrics_reported: list[str] = field(default_factory=list)
    duration: float = 0.0
    started_at: float | None = None
    finished_at: float | None = None
    commit: str = ""
    tag: str = ""
    command: list[str] = field(default_factory=list)
    returncode: int | None = None
    script_args: list[str] = field(default_factory=list)
    strategy: str | None = None
    rationale: str | None = None
    pruned_at: int | None = None
    findings: list[dict[str, Any]] = field(default_factory=list)
    strategy_info: dict[str, Any] = field(default_factory=dict)
    log: str = ""
    model_path: str | None = None
    script_result: dict[str, Any] | None = None
    diagnosis: dict[str, Any] | None = None
    best_model: str | None = None
    node: dict[str, Any] | None = None  # a cluster trial's node: id, address, host (and a node lost under it)
    extra: dict[str, Any] = field(default_factory=dict)  # keys this version does not name

    @property
    def counted(self) -> bool:
        return self.status in COUNTED

    def to_json(self) -> dict[str, Any]:
        """The record as results.json holds it, key for key and in the same order."""
        out: dict[str, Any] = {
            "run_id": self.run_id, "session": self.session, "number": self.number,
            "optuna_trial": self.optuna_trial, "status": self.status, "reason": self.reason,
            "params": self.params, "fixed": self.fixed, "metric": self.metric, "direction": self.direction,
            "value": self.value, "final": self.value, "best": self.best, "best_epoch": self.best_epoch,
            "history": self.history, "metrics_reported": self.metrics_reported,
            "duration": self.duration, "started_at": self.started_at, "finished_at": self.finished_at,
            "commit": self.commit, "tag": self.tag, "command": self.command, "returncode": self.returncode,
            "script_args": self.script_args, "strategy": self.strategy, "rationale": self.rationale,
            "pruned_at": self.pruned_at, "findings": self.findings, "strategy_info": self.strategy_info,
            "log": self.log, "model_path": self.model_path,
            # The original AutoFineTuner's result contract:
            "model_pt_path": self.model_path, "validation": self.value,
        }
        for key in _OPTIONAL:
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        out.update(self.extra)
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "TrialRecord":
        """A record read from results.json (any version); `to_json` gives the same keys back."""
        known = {f.name for f in fields(cls)} - {"extra"}
        kwargs = {k: v for k, v in data.items() if k in known}
        extra = {k: v for k, v in data.items() if k not in known and k not in ("final", "validation", "model_pt_path")}
        kwargs.setdefault("run_id", "")
        kwargs.setdefault("session", "")
        kwargs.setdefault("number", 0)
        kwargs.setdefault("optuna_trial", None)
        kwargs.setdefault("status", "")
        return cls(**kwargs, extra=extra)
