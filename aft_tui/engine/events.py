"""Typed engine events: the single stream every view (TUI, REPL, headless CLI, replay) renders.

Events are small dataclasses with a stable `kind` string so the session log can store them
as JSON lines and replay can rebuild them without importing anything heavy.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar

_REGISTRY: dict[str, type["Event"]] = {}


@dataclass
class Event:
    kind: ClassVar[str] = "event"
    ts: float = field(default_factory=time.time, kw_only=True)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _REGISTRY[cls.kind] = cls

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["kind"] = self.kind
        return data


def event_from_dict(data: dict[str, Any]) -> Event:
    """Rebuild an event from its JSON form; unknown kinds become `UnknownEvent` (forward compat).

    Raises ValueError (a `FieldTypeError`) when a field holds a value of another type than AFT
    writes there: a damaged or hand-edited line is refused here, where the reader can say which
    line it skipped, instead of breaking a view that formats the value later.
    """
    from aft_tui.engine.field_types import fits, typed_fields

    kind = data.get("kind", "")
    if not isinstance(kind, str):
        raise ValueError("its 'kind' is not text")
    cls = _REGISTRY.get(kind)
    if cls is None:
        ts = data.get("ts", 0.0)
        return UnknownEvent(raw=dict(data), ts=float(ts) if fits(ts, float) and not isinstance(ts, str) else 0.0)
    fields_ = typed_fields(cls, data, _MEASURED.get(cls, ()))
    if cls is TrialFinished and isinstance(fields_.get("result"), dict):
        _check_result(fields_["result"])
    return cls(**fields_)


def _check_result(result: dict[str, Any]) -> None:
    """A trial's record inside its `trial_finished` event: the entries the views read are checked too."""
    for key, kind in (("commit", str), ("metric", str), ("direction", str), ("params", dict)):
        value = result.get(key)
        if value is not None and not isinstance(value, kind):
            raise ValueError(f"field 'result' holds a '{key}' of the wrong type")


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def field_names(cls: type) -> tuple[str, ...]:
    """An event class's field names, worked out once: replay rebuilds events by the hundred thousand."""
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in fields(cls))
    return names


@dataclass
class UnknownEvent(Event):
    kind: ClassVar[str] = "unknown"
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass
class SessionStarted(Event):
    kind: ClassVar[str] = "session_started"
    session_id: str = ""
    target: str = ""
    project: str = ""
    branch: str = ""
    worktree: str = ""
    resumed: bool = False
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass
class SettingsChanged(Event):
    """Settings changed during the session (a goal in the conversation, the assistant's tools)."""

    kind: ClassVar[str] = "settings_changed"
    values: dict[str, Any] = field(default_factory=dict)
    origin: str = ""


@dataclass
class SessionEnded(Event):
    kind: ClassVar[str] = "session_ended"
    session_id: str = ""
    reason: str = ""


@dataclass
class UserMessage(Event):
    kind: ClassVar[str] = "user_message"
    text: str = ""


@dataclass
class AssistantMessage(Event):
    kind: ClassVar[str] = "assistant_message"
    text: str = ""
    # Streaming: chunks share a message_id; `final` marks the complete text.
    message_id: str = ""
    final: bool = True


@dataclass
class Info(Event):
    """A plain progress/status sentence for the person (what AFT is doing and why)."""

    kind: ClassVar[str] = "info"
    text: str = ""


@dataclass
class Proposal(Event):
    kind: ClassVar[str] = "proposal"
    proposal_id: str = ""
    proposal_kind: str = ""  # refactor | repair | params
    title: str = ""
    diff: str = ""
    rationale: str = ""
    files: list[str] = field(default_factory=list)
    # For proposals that run something rather than (only) edit files (tune, rollback): what will
    # happen once approved, in plain lines, so a view has more to show than an empty diff.
    summary: str = ""


@dataclass
class Decision(Event):
    kind: ClassVar[str] = "decision"
    proposal_id: str = ""
    approved: bool = False
    feedback: str = ""
    by: str = "user"  # user | auto
    edited_diff: str | None = None  # the person's edited version of the proposal's diff


@dataclass
class CommitMade(Event):
    kind: ClassVar[str] = "commit"
    sha: str = ""
    message: str = ""
    branch: str = ""
    tag: str = ""


@dataclass
class TrialStarted(Event):
    kind: ClassVar[str] = "trial_started"
    run_id: str = ""
    number: int = 0
    params: dict[str, Any] = field(default_factory=dict)
    command: list[str] = field(default_factory=list)
    commit: str = ""
    gpus: list[int] = field(default_factory=list)
    rationale: str = ""


@dataclass
class TrialLog(Event):
    """A batch of log lines (batched so a chatty trial does not flood the views)."""

    kind: ClassVar[str] = "trial_log"
    run_id: str = ""
    lines: list[str] = field(default_factory=list)


@dataclass
class TrialMetric(Event):
    kind: ClassVar[str] = "trial_metric"
    run_id: str = ""
    step: int | None = None
    epoch: float | None = None
    values: dict[str, float] = field(default_factory=dict)


@dataclass
class TrialFinished(Event):
    kind: ClassVar[str] = "trial_finished"
    run_id: str = ""
    number: int = 0
    status: str = ""  # ok | failed | pruned | timeout | cancelled
    value: float | None = None
    reason: str = ""
    duration: float = 0.0
    result: dict[str, Any] = field(default_factory=dict)


@dataclass
class BestUpdated(Event):
    kind: ClassVar[str] = "best_updated"
    run_id: str = ""
    value: float | None = None
    params: dict[str, Any] = field(default_factory=dict)
    metric: str = ""


@dataclass
class Rollback(Event):
    kind: ClassVar[str] = "rollback"
    to_run: str = ""
    sha: str = ""


@dataclass
class ErrorEvent(Event):
    kind: ClassVar[str] = "error"
    message: str = ""
    detail: str = ""


@dataclass
class Analysis(Event):
    kind: ClassVar[str] = "analysis"
    run_id: str = ""
    findings: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class TuneProgress(Event):
    kind: ClassVar[str] = "tune_progress"
    done: int = 0
    total: int = 0
    best: float | None = None
    metric: str = ""
    eta_s: float | None = None
    budget_left_s: float | None = None


@dataclass
class LLMUsage(Event):
    """Tokens and cost the session has spent on its model so far (totals, not this call's share).

    Emitted after each model reply, so the session log carries the accounting: `aft runs` and
    replay show it without a live model. Keys and prompts are never part of it.
    """

    kind: ClassVar[str] = "llm_usage"
    model: str = ""  # the model that answered last
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = None  # None while no reply had a known price (local or custom models)
    calls: int = 0  # model replies received


# The fields that hold a measurement, which a diverged run makes NaN or infinite; every other
# number in an event (a time, a duration, a budget, a price) is finite.
_MEASURED: dict[type, tuple[str, ...]] = {TrialFinished: ("value",), BestUpdated: ("value",),
                                          TuneProgress: ("best",), TrialMetric: ("values",)}
