"""What research says about itself in sentences: its opening line, the best so far, the summary a
restart and --notify give. Kept apart from the loop, which decides; these only describe."""

from __future__ import annotations

import math
from typing import Any

from aft_tui.engine.research.context import ResearchRun
from aft_tui.engine.research.records import Kind


def opening(loop: ResearchRun, any_code: bool) -> str:
    """Its limits and the kinds of experiment it will run (code only where a source applies)."""
    options = loop.options
    limits = ([f"{options.hours:g} h"] if options.hours else []) + (
        [f"{options.experiments} experiments"] if options.experiments else [])
    span = f"for {' or '.join(limits)}, whichever ends first" if len(limits) == 2 else (
        f"for {limits[0]}" if limits else "until stopped")
    per = f", {options.experiment_time:g} s per experiment" if options.experiment_time else ""
    kinds = ("numeric and code experiments" if any_code else
             "numeric experiments only (no recipe of AFT's catalogue applies to this script and no model is "
             "configured; --model adds code experiments written by an LLM)")
    return f"Research mode {span}{per}: {kinds}; results in {loop.store.folder}."


def best_sentence(loop: ResearchRun) -> str:
    rs = loop.rstate
    if rs.best_value is None:
        return "No experiment has a value yet."
    start = rs.baseline_values
    base = f" (baseline {sum(start) / len(start):.6g})" if start else ""
    which = f"experiment {rs.best_experiment}" if rs.best_experiment else "the baseline"
    return f"Best {loop.metric} = {rs.best_value:.6g}{base}, from {which}."


def restart_summary(loop: ResearchRun) -> str:
    kept = sum(1 for e in loop.experiments if e.kept and e.kind == Kind.CODE.value)
    return (f"Continuing research from its journal: {len(loop.experiments)} experiment(s) so far, {kept} code "
            f"change(s) kept. {best_sentence(loop)}")


def summary(loop: ResearchRun) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for e in loop.experiments:
        counts[e.status] = counts.get(e.status, 0) + 1
    rs = loop.rstate
    return {"session": loop.host.session_id, "experiments": len(loop.experiments), "statuses": counts,
            "metric": loop.metric, "direction": loop.direction, "best_value": _finite(rs.best_value),
            "best_experiment": rs.best_experiment, "best_params": rs.best_params,
            "noise": _finite(rs.noise), "folder": str(loop.store.folder),
            "kept_code": [e.description for e in loop.experiments if e.kept and e.kind == Kind.CODE.value]}


def _finite(value: float | None) -> float | None:
    return value if isinstance(value, (int, float)) and math.isfinite(value) else None
