"""The one judge of a trial's status: what it reported and how its process ended, read against
the objective.

A trial is judged when its run ends, with the objective known then; a run made before the
objective was chosen (trial 1 without `--metric`, the smoke run kept as trial 1) is judged
again from the same evidence once it is known. Both go through `judge`, so the rules are
written once.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aft_tui.runs.diagnosis import traceback_tail
from aft_tui.runs.metrics import find_metric, rows_as_requested
from aft_tui.runs.objective import final_value

_ERROR_LINE = re.compile(r"^\s*([A-Za-z_][\w.]*(Error|Exception|Interrupt)|Killed|Traceback|CUDA out of memory)")
_OOM = re.compile(r"out of memory|OutOfMemoryError|CUBLAS_STATUS_ALLOC_FAILED", re.I)
_KINDS = ("file", "stdout", "results")  # AFT_METRICS file, printed lines, result files the script wrote


@dataclass
class Evidence:
    """What a run left to judge it by."""

    sources: dict[str, list[dict[str, Any]]]  # rows per source, see _KINDS
    names: list[str]  # every metric name reported, first seen first
    launch_status: str  # the launcher's: ok | start_failed | pruned | timeout | cancelled | lost
    returncode: int | None = None
    tail: list[str] = field(default_factory=list)
    error: str = ""
    script_result: dict[str, Any] | None = None
    prune_reason: str | None = None
    pruned_at: int | None = None
    warnings: list[str] = field(default_factory=list)
    timeout: float | None = None
    log_path: Path | None = None
    renamed_for: str | None = None  # the objective the rows were already renamed to while streaming


@dataclass
class TrialOutcome:
    status: str  # ok | failed | pruned | timeout | cancelled
    reason: str = ""
    value: float | None = None  # final value of the objective
    best: float | None = None
    best_epoch: float | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    metric_names: list[str] = field(default_factory=list)
    duration: float = 0.0
    returncode: int | None = None
    tail: list[str] = field(default_factory=list)
    artifact: Path | None = None
    pruned_at: int | None = None
    script_result: dict[str, Any] | None = None
    sources: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    evidence: Evidence | None = None  # what it was judged from, to judge it again
    judged_for: str | None = None  # the objective it was judged against
    placement: dict[str, Any] = field(default_factory=dict)  # a cluster trial's node (and a lost node it left)


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def history_for(evidence: Evidence, metric: str | None) -> list[dict[str, Any]]:
    """Per-evaluation rows from the first source that carries the objective (the metrics file,
    then the printed lines, then the script's result files), else from the first with any row."""
    sources = evidence.sources
    if metric and metric != evidence.renamed_for:
        sources = {kind: rows_as_requested(rows, metric) for kind, rows in sources.items()}
    if metric:
        for kind in _KINDS:
            if any(metric in row for row in sources.get(kind, [])):
                return sources[kind]
    return next((sources[kind] for kind in _KINDS if sources.get(kind)), [])


def judge(evidence: Evidence, metric: str | None, direction: str | None, window: int | None) -> TrialOutcome:
    """The trial's outcome (a TrialOutcome without duration and artifact, which the run adds)."""
    history = history_for(evidence, metric)
    outcome = TrialOutcome(status="ok", history=history, metric_names=list(evidence.names),
                           returncode=evidence.returncode, tail=list(evidence.tail), sources=evidence.sources,
                           script_result=evidence.script_result, evidence=evidence, judged_for=metric)
    values = [row[metric] for row in history if metric and metric in row]
    if metric and not values and evidence.script_result:
        key = find_metric(metric, evidence.script_result)
        if key is not None:
            values = [evidence.script_result[key]]
    if values:
        final = final_value(values, window)
        outcome.value = float(final) if isinstance(final, (int, float)) else None
        finite = [(i, float(v)) for i, v in enumerate(values) if _finite(v)]
        if finite:
            pick = max if direction == "max" else min
            idx, best = pick(finite, key=lambda iv: iv[1])
            outcome.best = best
            rows = [row for row in history if metric in row]
            if idx < len(rows):
                outcome.best_epoch = rows[idx].get("epoch", rows[idx].get("step"))
    status = evidence.launch_status
    finished = evidence.returncode == 0 and _finite(outcome.value)
    if status == "start_failed":
        outcome.status, outcome.reason = "failed", evidence.error or "the script could not be started"
    elif status == "lost":  # a cluster node died under it, the second time (engine/trial.py runs it again once)
        outcome.status, outcome.reason = "failed", evidence.error or "the trial's cluster node was lost"
    elif status == "pruned" and not finished:
        outcome.status = "pruned"
        outcome.reason = evidence.prune_reason or "pruned"
        outcome.pruned_at = evidence.pruned_at
    elif status == "pruned":
        pass  # the stop reached a script that had just finished on its own: the run is complete, it counts
    elif status == "timeout":
        outcome.status = "timeout"
        outcome.reason = f"no exit within the {evidence.timeout:g} s per-trial timeout"
    elif status == "cancelled":
        outcome.status, outcome.reason = "cancelled", "cancelled by the user"
    elif evidence.returncode not in (0, None):
        outcome.status = "failed"
        if evidence.log_path is not None:
            outcome.tail = traceback_tail(evidence.log_path, outcome.tail)
        outcome.reason = crash_reason(evidence.returncode, outcome.tail)
    elif metric is None:
        if not evidence.names:
            outcome.status, outcome.reason = "failed", "the script reported no metric (no AFT_METRICS lines and no 'name: value' prints)"
    elif not values:
        seen = ", ".join(evidence.names) or "nothing"
        outcome.status = "failed"
        outcome.reason = f"the script never reported '{metric}' (it reported: {seen})"
    elif outcome.value is None or not math.isfinite(outcome.value):
        outcome.status, outcome.reason = "failed", f"'{metric}' became {outcome.value} (diverged)"
    if evidence.warnings and outcome.status == "ok" and not values:
        outcome.reason = evidence.warnings[0]
    return outcome


def crash_reason(code: int, tail: list[str]) -> str:
    text = "\n".join(tail)
    if _OOM.search(text):
        return f"ran out of memory (exit code {code})"
    last_error = next((line.strip() for line in reversed(tail) if _ERROR_LINE.match(line)), "")
    if last_error and last_error != "Traceback (most recent call last):":
        return f"exited with code {code}: {last_error[:200]}"
    if code < 0:
        return f"killed by signal {-code}"
    return f"exited with code {code}"
