"""What an assistant-proposed action will do, worded for the person who approves it.

A tuning run or a rollback is not (only) a file edit, so its proposal carries these lines
as its summary; the Diff pane, the plain REPL and replay show them where a diff would be.
"""

from __future__ import annotations

from typing import Any
from aft_tui.formatting import fmt_params, fmt_value


def _rows(rows: list[tuple[str, str]]) -> list[str]:
    width = max((len(k) for k, _ in rows), default=0)
    return [f"  {k:<{width}}  {v}" for k, v in rows]


def tune_summary(engine: Any, changes: dict[str, Any], trials: int) -> str:
    """The tuning run as it will start: trials, strategy, objective, limits, what it touches."""
    settings = engine.settings
    state = engine.state

    def setting(key: str) -> str:
        old = getattr(settings, key, None)
        new = changes.get(key, old)
        return f"{fmt_value(old)} → {fmt_value(new)}" if key in changes and new != old else fmt_value(new)

    branch = getattr(getattr(engine, "_workspace", None), "branch", None) or f"aft/{engine.session_id}"
    metric = state.metric or changes.get("metric") or settings.metric
    direction = state.direction or changes.get("direction") or settings.direction
    objective = (f"{metric} ({'higher' if direction == 'max' else 'lower'} is better)" if metric and direction
                 else metric or "chosen from what the script reports")
    done = len(engine.runs()) if hasattr(engine, "runs") else 0
    rows = [("trials", f"{trials}" + (f" more ({done} already run)" if done else "")),
            ("strategy", setting("strategy")),
            ("objective", objective),
            ("per trial", f"at most {fmt_value(settings.timeout)} s" if settings.timeout else "no time limit"),
            ("budget", f"{fmt_value(settings.budget)} s in all" if settings.budget else "none (the trial count decides)"),
            ("at once", f"{settings.parallel or 1} trial{'s' if (settings.parallel or 1) != 1 else ''}")]
    if settings.pruner and settings.pruner != "none":
        rows.append(("pruning", f"{settings.pruner} (hopeless trials stop early)"))
    return "\n".join([f"Runs {engine.state.target} {trials} time{'s' if trials != 1 else ''} with these settings:",
                      *_rows(rows),
                      f"Each trial's parameters become a commit on {branch}; the script itself is not changed.",
                      "Stop at any time with /stop (Ctrl-K)."])


def rollback_summary(engine: Any, record: dict[str, Any], diff: str) -> str:
    """The rollback as it will happen: which trial comes back, with what, and what changes."""
    branch = getattr(getattr(engine, "_workspace", None), "branch", None) or f"aft/{engine.session_id}"
    params = fmt_params((record.get("params") or {})) or "the defaults"
    metric = record.get("metric") or "value"
    value = record.get("value")
    result = f"{metric}={fmt_value(value)}" if value is not None else "no value"
    files = [line[len("+++ b/"):] for line in diff.splitlines() if line.startswith("+++ b/")]
    files += [line[len("--- a/"):] for line in diff.splitlines()
              if line.startswith("--- a/") and line[len("--- a/"):] not in files]
    rows = [("trial", f"{record.get('number')} ({record.get('run_id')}), {record.get('status')}: {result}"),
            ("parameters", params),
            ("from commit", str(record.get("commit") or "")[:10]),
            ("files", ", ".join(files) if files else "none differ from the branch head")]
    return "\n".join([f"Adds a commit on {branch} that restores trial {record.get('number')}'s files:",
                      *_rows(rows),
                      "Nothing is rewritten: every later commit stays in the history."])
