"""The engine's commands as tools a model can call.

Read-only tools (runs, explain_run, compare, inspect, status) run at once. Tools that change
code or run something (tune, refactor, repair, rollback) never act directly: they go through
`engine.propose_action()`, so the person sees a proposal and approves or rejects it first (or the
engine's own refactor/repair step does, which proposes its diff the same way).
"""

from __future__ import annotations

import asyncio
import inspect
import json
from typing import Any

from aft_tui.brain.prompts import _round
from aft_tui.errors import UserError
from aft_tui.redaction import redact

READ_ONLY = ("runs", "explain_run", "compare", "inspect")
ACTIONS = ("tune", "refactor", "repair", "rollback")
_RESULT_LIMIT = 4000


def _fn(name: str, description: str, properties: dict[str, Any] | None = None,
        required: list[str] | None = None) -> dict[str, Any]:
    return {"type": "function", "function": {"name": name, "description": description, "parameters": {
        "type": "object", "properties": properties or {}, "required": required or []}}}


_TRIAL = {"type": "string", "description": "trial number (e.g. 3) or run id"}
_REASON = {"type": "string", "description": "one sentence for the person: why this action"}

TOOL_SPECS: list[dict[str, Any]] = [
    _fn("runs", "List this session's trials: number, status, metric value, parameters, reason.",
        {"limit": {"type": "integer", "description": "latest N trials (default 20)"}}),
    _fn("explain_run", "Details of one trial: parameters and why they were chosen, metric history, curve analysis, "
        "failure reason.", {"trial": _TRIAL}, ["trial"]),
    _fn("compare", "Parameter, metric and code differences between two trials.", {"a": _TRIAL, "b": _TRIAL}, ["a", "b"]),
    _fn("inspect", "The script's tunable parameters: name, type, default, where set, suggested range."),
    _fn("tune", "Propose a tuning run (the person approves it first). Settings left out keep their current values.",
        {"trials": {"type": "integer", "minimum": 1}, "strategy": {"type": "string"},
         "metric": {"type": "string"}, "direction": {"type": "string", "enum": ["min", "max"]}, "reason": _REASON}),
    _fn("refactor", "Propose a refactor that exposes the script's hyperparameters as flags and reports metrics "
        "(shown as a diff for approval).", {"goal": {"type": "string"}, "reason": _REASON}),
    _fn("repair", "Propose a fix for the refactored script after a failed smoke run (shown as a diff for approval).",
        {"reason": _REASON}),
    _fn("rollback", "Propose making an earlier trial's state the branch head (a new commit; history is kept).",
        {"trial": _TRIAL, "reason": _REASON}, ["trial"]),
]


def tool_names() -> list[str]:
    return [spec["function"]["name"] for spec in TOOL_SPECS]


async def run_tool(engine: Any, name: str, args: dict[str, Any]) -> str:
    """Run one tool call; the result is a short text for the model (errors included, never raised)."""
    if "_malformed" in args:
        return f"Error: the arguments for {name} were not valid JSON; call it again with a JSON object."
    handler = _HANDLERS.get(name)
    if handler is None:
        return f"Error: there is no tool '{name}'; the tools are: {', '.join(tool_names())}."
    if engine is None:
        return "Error: no session is open, so this tool cannot run."
    try:
        result = await handler(engine, args)
    except UserError as exc:
        return f"Error: {exc.message}"
    except (TypeError, ValueError, KeyError) as exc:
        return f"Error: {name} could not run with {json.dumps(args, default=str)} ({exc})."
    except Exception as exc:  # a failing command must not end the conversation; the person sees it too
        message = redact(f"The assistant's {name} command failed: {type(exc).__name__}: {exc}")
        engine.error_message(message)
        return f"Error: {message}"
    text = result if isinstance(result, str) else json.dumps(_round(result), default=str)
    return text if len(text) <= _RESULT_LIMIT else text[:_RESULT_LIMIT] + "\n... (truncated)"


# -- read-only -----------------------------------------------------------------------
async def _runs(engine: Any, args: dict[str, Any]) -> Any:
    limit = int(args.get("limit") or 20)
    rows = [{k: r.get(k) for k in ("number", "status", "value", "params", "reason", "strategy", "duration")}
            for r in engine.runs()[-limit:]]
    return rows or "No trials yet in this session."


async def _explain_run(engine: Any, args: dict[str, Any]) -> Any:
    record = engine.find_run(args["trial"])
    keys = ("number", "run_id", "status", "reason", "metric", "direction", "value", "best", "best_epoch", "params",
            "strategy", "rationale", "duration", "pruned_at", "commit")
    out = {k: record.get(k) for k in keys if record.get(k) not in (None, "", [], {})}
    history = record.get("history") or []
    if history:
        out["history_last_rows"] = history[-8:]
        out["history_length"] = len(history)
    findings = record.get("findings") or []
    if findings:
        out["findings"] = [f.get("sentence", f) if isinstance(f, dict) else f for f in findings]
    return out


async def _compare(engine: Any, args: dict[str, Any]) -> Any:
    comparison = await asyncio.to_thread(engine.compare, args["a"], args["b"])
    return comparison.render_text()


async def _inspect(engine: Any, args: dict[str, Any]) -> Any:
    own = getattr(engine, "inspect", None)
    if callable(own):
        result = own()
        result = await result if inspect.isawaitable(result) else result
        return result.to_dict() if hasattr(result, "to_dict") else result
    try:
        from aft_tui.target.discover import discover
    except ImportError:
        space = engine.state.space
        return space or "Parameter discovery is not available; the search space is not built yet."
    discovery = await asyncio.to_thread(discover, engine.work_script)
    data = discovery.to_dict() if hasattr(discovery, "to_dict") else discovery
    return data


# -- actions (always through a proposal) ----------------------------------------------
async def _tune(engine: Any, args: dict[str, Any]) -> Any:
    in_flight = getattr(engine, "trials_in_flight", None)
    if callable(in_flight) and in_flight() > 0:
        return "A tuning run is already in progress; wait for it to finish (or /stop it) before starting another."
    from aft_tui.tuning.base import check_strategy

    changes: dict[str, Any] = {}
    if args.get("trials") is not None:
        changes["trials"] = int(args["trials"])
        if changes["trials"] < 1:
            return "Error: trials must be at least 1."
    if args.get("strategy"):
        check_strategy(str(args["strategy"]))
        changes["strategy"] = str(args["strategy"])
    for key in ("metric", "direction"):
        if args.get(key):
            changes[key] = str(args[key])
    state_metric = getattr(engine.state, "metric", None)
    if state_metric and changes.get("metric", state_metric) != state_metric:
        return (f"This session already optimises {state_metric}; a different objective needs a new session "
                f"(`aft tune {engine.state.target} --metric {changes['metric']}`). Tell the person.")
    settings = engine.settings
    trials = changes.get("trials", settings.trials)
    lines = [f"{k}: {getattr(settings, k, None)} -> {v}" for k, v in changes.items() if getattr(settings, k, None) != v]
    title = f"Run {trials} trial{'s' if trials != 1 else ''} with the {changes.get('strategy', settings.strategy)} strategy"
    rationale = str(args.get("reason") or "requested in the conversation")
    if lines:
        rationale += "\nSettings: " + "; ".join(lines)
    from aft_tui.brain.action_summary import tune_summary

    decision = await engine.propose_action("tune", title, rationale, summary=tune_summary(engine, changes, trials))
    if not decision.approved:
        return _rejected(decision)
    if changes:
        engine.change_settings({k: v for k, v in changes.items() if k != "trials"}, "the conversation")
    summary = await engine.tune(trials)
    best = summary.get("best") or {}
    return {"finished": True, "trials": summary.get("trials"), "end_reason": summary.get("end_reason"),
            "metric": summary.get("metric"), "best_value": best.get("value"), "best_trial": best.get("number"),
            "best_params": best.get("params"), "defaults_value": summary.get("defaults_value")}


async def _rollback(engine: Any, args: dict[str, Any]) -> Any:
    record = engine.find_run(args["trial"])
    title = f"Roll back to trial {record['number']} ({record['run_id']})"
    rationale = str(args.get("reason") or "requested in the conversation") + \
        "\nA new commit restores that trial's files; no history is lost."
    from aft_tui.brain.action_summary import rollback_summary

    diff = await asyncio.to_thread(_diff_to, engine, record.get("commit") or "")
    decision = await engine.propose_action("rollback", title, rationale, diff=diff,
                                           summary=rollback_summary(engine, record, diff))
    if not decision.approved:
        return _rejected(decision)
    sha = await engine.rollback(record["run_id"])
    return f"Rolled back: the branch head is now {sha[:10]}, with trial {record['number']}'s files."


def _diff_to(engine: Any, commit: str) -> str:
    """What a rollback to `commit` changes, as a diff from the branch head (empty when unknown)."""
    workspace = getattr(engine, "_workspace", None)
    if workspace is None or not commit:
        return ""
    try:
        return workspace.diff(workspace.head(), commit)
    except Exception:  # the summary still says what will happen; the diff is a help, not a need
        return ""


async def _engine_step(engine: Any, name: str, args: dict[str, Any]) -> Any:
    step = getattr(engine, name, None)
    if not callable(step):
        return f"This version of AFT has no {name} step; tell the person to run /{name} when it is available."
    accepted = inspect.signature(step).parameters
    kwargs = {k: v for k, v in args.items() if k in accepted and k != "reason"}
    result = step(**kwargs)
    result = await result if inspect.isawaitable(result) else result
    if isinstance(result, dict):
        return {k: v for k, v in result.items() if k not in ("history",)}
    return str(result) if result is not None else f"{name} finished."


async def _refactor(engine: Any, args: dict[str, Any]) -> Any:
    return await _engine_step(engine, "refactor", args)


async def _repair(engine: Any, args: dict[str, Any]) -> Any:
    return await _engine_step(engine, "repair", args)


def _rejected(decision: Any) -> str:
    """The tool's answer to a rejected proposal (`decision`: the engine's Decision)."""
    reason = f" Their reason: {decision.feedback}" if decision.feedback else ""
    return "The person rejected the proposal; nothing was changed." + reason


_HANDLERS = {
    "runs": _runs, "explain_run": _explain_run, "compare": _compare, "inspect": _inspect,
    "tune": _tune, "refactor": _refactor, "repair": _repair, "rollback": _rollback,
}
