"""What the tuner says about trials and the session: a record's analysis and diagnosis, a new
best, progress, and the summary and metadata.json at the end."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from aft_tui.engine import events as ev
from aft_tui.engine.judge import TrialOutcome
from aft_tui.engine.trial_record import finite_value, is_counted
from aft_tui.engine.tuner.context import TuningRun



def findings(tuner: TuningRun, history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if not (tuner.metric and history):
        return []
    try:
        from aft_tui.tuning.analyzer import analyze_trial

        return [f.to_dict() for f in analyze_trial(history, tuner.metric, tuner.direction or "max")]
    except Exception as exc:  # analysis is advice; it must never lose a result
        return [{"code": "analysis_failed", "sentence": f"Curve analysis failed: {exc}"}]


def diagnose(tuner: TuningRun, record: Any, outcome: TrialOutcome) -> dict[str, Any]:
    """The one-sentence diagnosis of a failed trial (what broke, the fix)."""
    from aft_tui.runs.diagnosis import RunContext, diagnose_outcome

    host = tuner.host
    context = RunContext(cwd=host.trial_cwd, person_cwd=host.info.project / host.info.rel_cwd,
                         interpreter=host.interpreter, script=str(host.info.rel_script), log_path=Path(record.log))
    return diagnose_outcome(outcome, context, params=record.params, metric=record.metric).to_dict()


def keep_if_best(tuner: TuningRun, record: dict[str, Any], outcome: TrialOutcome,
                 previous_best: dict[str, Any] | None) -> None:
    """A new best: copy its model to outputs/ and say so."""
    host = tuner.host
    value = finite_value(record)
    if value is None or (previous_best is not None and not _better(value, previous_best["value"], tuner.direction)):
        return
    kept = None
    if outcome.artifact is not None:
        try:  # outputs/model* is shared by the project's sessions: the best of them all (see keep_if_best)
            where = host.outputs.keep_if_best(record, outcome.artifact)
            kept = str(where) if where is not None else None
        except OSError as exc:
            host.info_message(f"Could not copy the best model ({exc}); it stays at {outcome.artifact}.")
    host.emit(ev.BestUpdated(run_id=record["run_id"], value=record["value"], params=record["params"],
                             metric=tuner.metric or ""))
    record["best_model"] = kept


def _better(a: float, b: float | None, direction: str | None) -> bool:
    if b is None:
        return True
    return a > b if (direction or "max") == "max" else a < b


def announce_finish(tuner: TuningRun, record: dict[str, Any]) -> None:
    host = tuner.host
    host.emit(ev.TrialFinished(run_id=record["run_id"], number=record["number"], status=record["status"],
                               value=record["value"], reason=record["reason"], duration=record["duration"],
                               result={k: record.get(k) for k in ("params", "metric", "direction", "best", "commit",
                                                                   "model_path", "pruned_at")}))
    best = tuner.best_result()
    results = tuner.ledger.counted()
    done = len(results)
    total = tuner.count_limit
    eta = None
    if results and done < total:
        mean = sum(r.get("duration") or 0.0 for r in results) / done
        eta = mean * (total - done) / max(1, tuner.slots)
    budget_left = None
    if tuner.settings.budget is not None:
        budget_left = max(0.0, tuner.settings.budget - (time.time() - tuner.started))
    host.emit(ev.TuneProgress(done=done, total=total, best=best["value"] if best else None,
                              metric=tuner.metric or "", eta_s=eta, budget_left_s=budget_left))


def summarise(tuner: TuningRun) -> dict[str, Any]:
    results = tuner.session_results()
    best = tuner.best_result()
    defaults = next((r for r in results if r.get("number") == 1), None)
    return {
        "session": tuner.host.session_id,
        "branch": tuner.host.workspace.branch,
        "metric": tuner.metric, "direction": tuner.direction,
        "trials": len([r for r in results if is_counted(r)]),
        "statuses": {s: sum(1 for r in results if r.get("status") == s) for s in {r.get("status") for r in results}},
        "best": best,
        "defaults_value": defaults.get("value") if defaults else None,
        "end_reason": tuner.end_reason,
        "stopped_by_failure": tuner.stop_sentence or None,
    }


def write_metadata(tuner: TuningRun, summary: dict[str, Any]) -> None:
    host = tuner.host
    best = summary["best"]
    how = "no trial finished successfully"
    if best is not None:
        how = (f"trial {best['number']} ({best['run_id']}) had the {'highest' if tuner.direction == 'max' else 'lowest'} "
               f"{tuner.metric} = {best['value']:.6g} of {summary['trials']} trials; its parameters were chosen by "
               f"{best.get('strategy')}: {best.get('rationale')}")
    metadata = {
        "session": host.session_id, "target": host.state.target, "project": host.state.project,
        "branch": summary["branch"], "metric": tuner.metric, "direction": tuner.direction,
        "search_space": tuner.space.to_dict() if tuner.space else None, "strategy": tuner.settings.strategy,
        "pruner": tuner.settings.pruner, "seed": tuner.settings.seed, "script_args": host.script_args,
        "trials": summary["trials"], "statuses": summary["statuses"], "end_reason": summary["end_reason"],
        "defaults_value": summary["defaults_value"],
        "best_params": best["params"] if best else None, "best_value": best["value"] if best else None,
        "best_run": best["run_id"] if best else None, "best_commit": best["commit"] if best else None,
        "best_model": best_model_path(host.outputs.root), "how_chosen": how,
    }
    host.outputs.write_metadata(metadata)


def best_model_path(root: Path) -> str | None:
    """The model AFT kept last (outputs/model.<ext> or outputs/model/; the newest if several)."""
    kept = []
    for candidate in root.glob("model*"):
        if candidate.name.startswith(".") or candidate.name.endswith(".tmp"):
            continue
        try:
            kept.append((candidate.stat().st_mtime_ns, str(candidate)))
        except OSError:
            continue
    return max(kept)[1] if kept else None
