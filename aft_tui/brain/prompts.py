"""What the model is told: short system prompts and a compact session context.

The context is the engine's `chat_context()` trimmed to what fits a small model: the last
runs with rounded numbers, the latest findings, the search space. `shrink` gives the smaller
version used after a "context too long" refusal.
"""

from __future__ import annotations

import json
from typing import Any

CHAT_SYSTEM = """You are the assistant inside AFT (AutoFineTuner), a terminal tool that tunes the hyperparameters \
of a person's working training script: it runs trials as subprocesses, reads their metrics, picks new values \
and records every choice as a git commit on a session branch.
Answer briefly and concretely from the session context below; never invent numbers or trial results.
Use the tools for details (runs, explain_run, compare, inspect). Tools that change code or run anything \
(tune, refactor, repair, rollback) only create a proposal that the person approves or rejects; say so.
If the person states a goal (metric, direction, number of trials, strategy), use the tune tool with those settings."""

EDIT_FORMAT = """Reply with edits as SEARCH/REPLACE blocks, one per change, exactly like this:

{path}
<<<<<<< SEARCH
lines copied exactly from the current file
=======
the new lines
>>>>>>> REPLACE

The SEARCH part must match the current file exactly (including indentation) and be as short as possible while \
unique. Change only what is needed. After the blocks, one short paragraph starting with "Rationale:"."""

REFACTOR_SYSTEM = """You refactor a working training script so a tuner can set its hyperparameters from the command \
line. Rules: every hyperparameter you expose becomes an argparse flag whose default is exactly the original value \
(merge into an existing parser if there is one); running the script with no flags must behave exactly as before; \
when the environment variable AFT_METRICS is set, append one JSON object per evaluation to that file, e.g. \
{"epoch": 1, "val_loss": 0.31}, and write nothing extra when it is not set; do not import AFT; do not reformat \
untouched code.

""" + EDIT_FORMAT

REPAIR_SYSTEM = """You repair a training script that fails after a refactor. You get the traceback, the diff that \
broke it and the end of its log. Fix the cause with the smallest change; keep every exposed flag and its default \
unless the flag itself is the cause.

""" + EDIT_FORMAT

PARAMS_SYSTEM = """You choose hyperparameters for the next trial of a tuning run. Use the history (earlier trials, \
their parameters, status and metric) and the curve analysis findings. Stay strictly inside the search space: \
numbers within [low, high], categorical values from the choices. Reply with one JSON object only:
{"params": {"name": value, ...}, "rationale": "one or two sentences: why these values"}"""

HYBRID_SYSTEM = """You review the optimizer's proposal for the next trial of a tuning run. You see the search space, \
the history, the curve analysis findings and the optimizer's proposal. Keep the optimizer's proposal unless the \
evidence clearly says another choice is better (for example divergence at high learning rates, or overfitting). \
Stay strictly inside the search space. Reply with one JSON object only, either
{"action": "accept", "rationale": "why the optimizer's choice is fine"}
or
{"action": "override", "params": {"name": value, ...}, "rationale": "the evidence for overriding"}"""


CODE_EXPERIMENT_SYSTEM = """You propose the next code experiment of an automated research loop that improves a \
training script's objective. Each experiment is one change to the code, run for a fixed time and kept only if the \
metric improves. Propose ONE focused change likely to improve the metric within that time (a training-recipe idea: \
schedule, regularisation, architecture, data handling, optimizer). Rules: change only the editable files; never \
touch the read-only ones; import nothing the project does not already use (the standard library is fine); keep the \
script's command-line flags, its metric reports and any time-budget check; at most {max_lines} changed lines; \
follow the person's steering notes; do not repeat an experiment the journal already records.
Reply exactly in this form:
Title: <a few words naming the change>
Rationale: <one or two sentences: why it should improve the metric>
```diff
<a unified diff with --- a/<path> and +++ b/<path> headers and @@ hunks, against the files exactly as shown>
```
If no change is worth trying, reply with one line instead: No experiment: <why>"""

def _round(value: Any) -> Any:
    if isinstance(value, float):
        return float(f"{value:.4g}")
    if isinstance(value, dict):
        return {k: _round(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_round(v) for v in value]
    return value


def compact_context(context: dict[str, Any], max_runs: int = 12, findings: bool = True) -> dict[str, Any]:
    out = {k: v for k, v in context.items() if v not in (None, [], {}, "")}
    runs = list(context.get("runs") or [])
    if runs:
        out["runs"] = [_round({k: v for k, v in r.items() if v not in (None, "", {})}) for r in runs[-max_runs:]]
        if len(runs) > max_runs:
            out["runs_omitted"] = len(runs) - max_runs
    space = context.get("search_space")
    if isinstance(space, dict) and space.get("dims"):
        out["search_space"] = [_round({k: d.get(k) for k in ("name", "kind", "default", "low", "high", "log", "choices")
                                       if d.get(k) not in (None, False)}) for d in space["dims"]]
    if not findings:
        out.pop("latest_findings", None)
    elif context.get("latest_findings"):
        out["latest_findings"] = [f.get("sentence", f) if isinstance(f, dict) else f
                                  for f in context["latest_findings"][:4]]
    return out


def shrink(context: dict[str, Any]) -> dict[str, Any]:
    """The smaller context used to retry after a "context too long" refusal."""
    return compact_context(context, max_runs=3, findings=False)


def context_message(context: dict[str, Any]) -> str:
    return "Session context (JSON):\n" + json.dumps(context, default=str, separators=(",", ":"))


def record_rows(records: list[dict[str, Any]], limit: int = 30) -> list[dict[str, Any]]:
    """Trial records reduced to what a proposal needs (the prompt calls the list "history")."""
    rows = []
    for r in records[-limit:]:
        row = {"trial": r.get("number"), "params": r.get("params"), "status": r.get("status"), "value": r.get("value")}
        if r.get("best") is not None and r.get("best") != r.get("value"):
            row["best_during_run"] = r.get("best")
        if r.get("reason"):
            row["reason"] = str(r["reason"])[:160]
        rows.append(_round(row))
    return rows


def clip(text: str, limit: int) -> str:
    """The end of a long text (tracebacks and logs matter most at their end)."""
    if len(text) <= limit:
        return text
    return "...\n" + text[-limit:]
