"""The session as the views see it: engine events folded into plain state.

Every view (Textual app, plain REPL, replay) feeds the same events into a `SessionView`
and renders from it, so they agree on what happened and none of them holds logic of its
own. Replay rebuilds one from the first k events to seek; nothing here touches disk,
runs code, or imports a UI toolkit.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aft_tui.engine import events as ev
from aft_tui.formatting import fmt_params, fmt_value
from aft_tui.ui.usage import short_usage, used

# Lines of each trial's output kept in memory for the log pane and replay (the full log is on disk).
LOG_LINES_KEPT = 2000
# Chat entries kept; older ones scroll out of the conversation (the session log has them all).
MESSAGES_KEPT = 500


def short_run(run_id: str) -> str:
    """'20250615-120000-abc-t003' -> 't003' (run ids end with the trial number)."""
    return run_id.rsplit("-", 1)[-1] if run_id else run_id


def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = float(seconds)
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


@dataclass
class ChatEntry:
    role: str  # user | assistant | info | error | notice
    text: str
    message_id: str = ""
    final: bool = True


@dataclass
class TrialRow:
    run_id: str
    number: int
    params: dict[str, Any] = field(default_factory=dict)
    status: str = "running"
    value: float | None = None
    duration: float | None = None
    commit: str = ""
    reason: str = ""
    gpus: list[int] = field(default_factory=list)
    rationale: str = ""
    history: list[dict[str, Any]] = field(default_factory=list)
    version: int = 0  # bumped on every change so views redraw only what moved


@dataclass
class ProposalState:
    proposal: ev.Proposal
    decision: ev.Decision | None = None

    @property
    def pending(self) -> bool:
        return self.decision is None

    @property
    def verdict(self) -> str:
        if self.decision is None:
            return "pending"
        how = "approved" if self.decision.approved else "rejected"
        return f"{how} (auto)" if self.decision.by == "auto" else how


class SessionView:
    """Folds events into what the views show; `apply` is the only mutator."""

    def __init__(self) -> None:
        self.session_id = ""
        self.target = ""
        self.branch = ""
        self.metric = ""
        self.direction = ""
        self.total_trials: int | None = None
        self.done = 0
        self.budget_left: float | None = None
        self.best_value: float | None = None
        self.best_run = ""
        self.ended = ""
        self.llm_usage: dict[str, Any] | None = None  # the session's model spending (totals)
        self.messages: deque[ChatEntry] = deque(maxlen=MESSAGES_KEPT)
        self.message_serial = 0  # count of entries ever added (views track what they drew)
        self.proposals: dict[str, ProposalState] = {}
        self.trials: dict[str, TrialRow] = {}
        self.logs: dict[str, deque[str]] = {}
        self.log_lines_seen: dict[str, int] = {}
        self.events_applied = 0
        self._streams: dict[str, ChatEntry] = {}
        # Each trial's metric points by (step, epoch), so merging a repeated evaluation is one lookup
        # instead of a scan of the trial's history (quadratic for scripts that report every step).
        self._points: dict[str, dict[tuple[Any, Any], dict[str, Any]]] = {}

    # -- folding ---------------------------------------------------------------------
    def apply(self, event: ev.Event) -> None:
        self.events_applied += 1
        handler = getattr(self, f"_on_{event.kind}", None)
        if handler is not None:
            handler(event)

    def _say(self, role: str, text: str, message_id: str = "", final: bool = True) -> ChatEntry:
        entry = ChatEntry(role, text, message_id, final)
        self.messages.append(entry)
        self.message_serial += 1
        return entry

    def _on_session_started(self, e: ev.SessionStarted) -> None:
        self.session_id, self.target, self.branch = e.session_id, e.target, e.branch
        settings = e.settings or {}
        self.metric = self.metric or (settings.get("metric") or "")
        self.direction = self.direction or (settings.get("direction") or "")
        if isinstance(settings.get("trials"), int):
            self.total_trials = settings["trials"]
        verb = "Resumed" if e.resumed else "Started"
        self._say("notice", f"{verb} session {e.session_id} on {e.target} (branch {e.branch}).")

    def _on_settings_changed(self, e: ev.SettingsChanged) -> None:
        values = e.values or {}
        if isinstance(values.get("trials"), int) and not self.done:
            self.total_trials = values["trials"]
        if values.get("metric") and not self.metric:
            self.metric = values["metric"]
            self.direction = values.get("direction") or self.direction

    def _on_session_ended(self, e: ev.SessionEnded) -> None:
        self.ended = e.reason or "ended"
        self._say("notice", f"Session ended ({self.ended}).")

    def _on_user_message(self, e: ev.UserMessage) -> None:
        self._say("user", e.text)

    def _on_assistant_message(self, e: ev.AssistantMessage) -> None:
        if e.message_id and e.message_id in self._streams:
            entry = self._streams[e.message_id]
            if e.final:
                entry.text, entry.final = e.text, True
                del self._streams[e.message_id]
            else:
                entry.text += e.text
            return
        entry = self._say("assistant", e.text, e.message_id, e.final)
        if not e.final and e.message_id:
            self._streams[e.message_id] = entry

    def _on_info(self, e: ev.Info) -> None:
        self._say("info", e.text)

    def _on_error(self, e: ev.ErrorEvent) -> None:
        self._say("error", e.message)

    def _on_proposal(self, e: ev.Proposal) -> None:
        if e.proposal_id in self.proposals:
            # Sessions resumed before ids went on across resumes reused "p1": keep the earlier one,
            # under a key of its own, in its place; the id (and later decisions) go to the new one.
            self.proposals = {(f"{key}~{n}" if key == e.proposal_id else key): state
                              for n, (key, state) in enumerate(self.proposals.items(), 1)}
        self.proposals[e.proposal_id] = ProposalState(e)
        self._say("notice", f"Proposal {e.proposal_id} ({e.proposal_kind}): {e.title}")

    def _on_decision(self, e: ev.Decision) -> None:
        state = self.proposals.get(e.proposal_id)
        if state is not None:
            state.decision = e
        verdict = "approved" if e.approved else "rejected"
        extra = f": {e.feedback}" if e.feedback else ""
        self._say("notice", f"Proposal {e.proposal_id} {verdict}{' automatically' if e.by == 'auto' else ''}{extra}.")

    def _on_commit(self, e: ev.CommitMade) -> None:
        if e.branch:
            self.branch = e.branch

    def _on_trial_started(self, e: ev.TrialStarted) -> None:
        row = self.trials.get(e.run_id)
        if row is None:
            row = TrialRow(run_id=e.run_id, number=e.number)
            self.trials[e.run_id] = row
        row.params, row.status, row.commit = dict(e.params), "running", e.commit
        row.gpus, row.rationale, row.history = list(e.gpus), e.rationale, []
        self._points[e.run_id] = {}
        row.value, row.duration, row.reason = None, None, ""
        row.version += 1
        self.logs[e.run_id] = deque(maxlen=LOG_LINES_KEPT)
        self.log_lines_seen[e.run_id] = 0
        why = f" ({e.rationale})" if e.rationale else ""
        self._say("info", f"Trial {e.number} started: {fmt_params(e.params)}{why}")

    def _on_trial_log(self, e: ev.TrialLog) -> None:
        buf = self.logs.get(e.run_id)
        if buf is None:
            buf = self.logs[e.run_id] = deque(maxlen=LOG_LINES_KEPT)
        buf.extend(e.lines)
        self.log_lines_seen[e.run_id] = self.log_lines_seen.get(e.run_id, 0) + len(e.lines)

    def _on_trial_metric(self, e: ev.TrialMetric) -> None:
        row = self.trials.get(e.run_id)
        if row is None:
            return
        point: dict[str, Any] = dict(e.values)
        if e.step is not None:
            point["step"] = e.step
        if e.epoch is not None:
            point["epoch"] = e.epoch
        # A script that both prints and writes AFT_METRICS reports each evaluation twice: merge them.
        if e.step is not None or e.epoch is not None:
            points = self._points.setdefault(e.run_id, {})
            old = points.get((e.step, e.epoch))
            if old is not None:
                old.update(point)
                row.version += 1
                return
            points[(e.step, e.epoch)] = point
        row.history.append(point)
        row.version += 1

    def _on_trial_finished(self, e: ev.TrialFinished) -> None:
        row = self.trials.get(e.run_id)
        if row is None:
            row = self.trials[e.run_id] = TrialRow(run_id=e.run_id, number=e.number)
        row.status, row.value, row.duration, row.reason = e.status, _num(e.value), e.duration, e.reason
        result = e.result or {}
        if result.get("commit"):
            row.commit = result["commit"]
        if result.get("params") and not row.params:
            row.params = dict(result["params"])
        if result.get("metric"):
            self.metric = result["metric"]
        if result.get("direction"):
            self.direction = result["direction"]
        row.version += 1
        metric = self.metric or "value"
        value = f"{metric}={fmt_value(row.value)}" if row.value is not None else "no value"
        reason = f" — {e.reason}" if e.reason else ""
        self._say("error" if e.status in ("failed", "timeout") else "info",
                  f"Trial {e.number} {e.status}: {value} in {fmt_duration(e.duration)}{reason}")

    def _on_best_updated(self, e: ev.BestUpdated) -> None:
        self.best_value, self.best_run = _num(e.value), e.run_id
        if e.metric:
            self.metric = e.metric
        self._say("notice", f"New best {e.metric or 'value'}={fmt_value(e.value)} ({short_run(e.run_id)}).")

    def _on_rollback(self, e: ev.Rollback) -> None:
        self._say("notice", f"Rolled back to {short_run(e.to_run)}: new commit {e.sha[:10]} (history kept).")

    def _on_analysis(self, e: ev.Analysis) -> None:
        for finding in e.findings:
            sentence = finding.get("sentence") if isinstance(finding, dict) else None
            if sentence:
                self._say("info", f"{short_run(e.run_id)}: {sentence}")

    def _on_tune_progress(self, e: ev.TuneProgress) -> None:
        self.done, self.total_trials = e.done, e.total or None  # 0: no count limit (research)
        self.budget_left = e.budget_left_s
        if e.metric:
            self.metric = e.metric
        if e.best is not None:
            self.best_value = _num(e.best)

    def _on_llm_usage(self, e: ev.LLMUsage) -> None:
        self.llm_usage = {"model": e.model, "prompt_tokens": e.prompt_tokens, "completion_tokens": e.completion_tokens,
                          "cost_usd": _num(e.cost_usd), "calls": e.calls}

    # -- queries -------------------------------------------------------------------------
    def pending(self) -> list[ev.Proposal]:
        return [s.proposal for s in self.proposals.values() if s.pending]

    def latest_proposal(self) -> ProposalState | None:
        pending = [s for s in self.proposals.values() if s.pending]
        if pending:
            return pending[0]
        return next(reversed(self.proposals.values()), None)

    def rows(self) -> list[TrialRow]:
        return sorted(self.trials.values(), key=lambda r: r.number)

    def running(self) -> list[TrialRow]:
        return [r for r in self.rows() if r.status == "running"]

    def newest_run(self) -> str:
        rows = self.rows()
        return rows[-1].run_id if rows else ""

    def best_so_far(self) -> list[tuple[int, float]]:
        """(trial number, best objective up to that trial) for finished trials, in order."""
        out: list[tuple[int, float]] = []
        best: float | None = None
        maximise = self.direction != "min"
        for row in self.rows():
            if row.status != "ok" or row.value is None:
                continue
            if best is None or (row.value > best if maximise else row.value < best):
                best = row.value
            out.append((row.number, best))
        return out

    def curve(self, run_id: str) -> list[tuple[float, float]]:
        """(epoch or step, value) points of one trial's learning curve (see `curve_metric`)."""
        row = self.trials.get(run_id)
        if row is None or not self.metric:
            return []
        return self._points_of(row, self.curve_metric(run_id))

    def curve_metric(self, run_id: str) -> str:
        """The objective, or, when the script reports it once per run, the per-epoch held-out
        metric the analysis reads in its place (the curve worth looking at)."""
        row = self.trials.get(run_id)
        if row is None or not self.metric:
            return self.metric
        if len(self._points_of(row, self.metric)) >= 3:
            return self.metric
        from aft_tui.tuning.analyzer import curve_companion

        companion = curve_companion(row.history, self.metric)
        return companion[0] if companion else self.metric

    @staticmethod
    def _points_of(row: TrialRow, metric: str) -> list[tuple[float, float]]:
        points = []
        # Once the script reports epochs or steps, points without them (its plain prints) are duplicates.
        positioned = any("epoch" in p or "step" in p for p in row.history)
        for i, point in enumerate(row.history, start=1):
            value = _num(point.get(metric))
            if value is None or (positioned and "epoch" not in point and "step" not in point):
                continue
            x = point.get("epoch", point.get("step", i))
            points.append((float(x if x is not None else i), value))
        return points

    def params_text(self, row: TrialRow) -> str:
        """A trial's parameters as the runs table shows them: trial 1 (the defaults) in full, later
        trials by what they change from it, which is what tells them apart in a narrow column."""
        from aft_tui.formatting import params_against_first

        first = next((r for r in self.trials.values() if r.number == 1), None)
        return params_against_first(row.params, first.params if first else None, row.number == 1)

    def records(self) -> list[dict[str, Any]]:
        """Trials in the shape of outputs/results.json, for the shared runs table."""
        return [{"number": r.number, "run_id": r.run_id, "status": r.status, "value": r.value,
                 "metric": self.metric, "direction": self.direction, "params": r.params,
                 "duration": r.duration or 0.0, "commit": r.commit, "session": self.session_id}
                for r in self.rows()]

    def status_fields(self) -> dict[str, str]:
        """The status bar's fields, already worded."""
        started = len(self.trials)
        total = self.total_trials
        trial = f"{started}/{total}" if total else str(started)
        best = "—"
        if self.best_value is not None:
            best = f"{self.metric or 'value'}={fmt_value(self.best_value)}"
            if self.best_run:
                best += f" ({short_run(self.best_run)})"
        fields_ = {"session": self.session_id or "—", "branch": self.branch or "—", "best": best, "trial": trial}
        if self.budget_left is not None:
            fields_["budget"] = f"{fmt_duration(self.budget_left)} left"
        if used(self.llm_usage):
            fields_["llm"] = short_usage(self.llm_usage)
        pending = len(self.pending())
        if pending:
            fields_["pending"] = f"{pending} proposal{'s' if pending > 1 else ''} to review"
        return fields_


def _num(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):  # the session log stores NaN/inf as strings
        try:
            return float(value)
        except ValueError:
            return None
    return None


def is_finite(value: Any) -> bool:
    number = _num(value)
    return number is not None and math.isfinite(number)
