"""A session's model spending, worded the same way by every view and by `aft runs`.

The engine records the totals in the session state and as `llm_usage` events in the session
log, so a finished or replayed session shows what it cost without any model being reachable.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable


def used(usage: dict[str, Any] | None) -> bool:
    """Whether a model answered at least once in the session."""
    return bool(usage) and (int(usage.get("calls") or 0) > 0 or tokens(usage) > 0)


def tokens(usage: dict[str, Any]) -> int:
    return int(usage.get("prompt_tokens") or 0) + int(usage.get("completion_tokens") or 0)


def fmt_tokens(count: int) -> str:
    """12 -> '12', 12345 -> '12.3k', 2_500_000 -> '2.5M'."""
    if count < 1000:
        return str(count)
    if count < 1_000_000:
        return f"{count / 1000:.1f}k"
    return f"{count / 1_000_000:.1f}M"


def fmt_cost(cost: float | None) -> str:
    """Dollars, or 'price unknown' for models litellm has no price for (local servers, custom names)."""
    if cost is None:
        return "price unknown"
    if cost < 0.01:
        return f"${cost:.4f}" if cost else "$0"
    return f"${cost:.2f}"


def short_usage(usage: dict[str, Any]) -> str:
    """For the status bar: '12.3k tok · $0.04'."""
    cost = usage.get("cost_usd")
    text = f"{fmt_tokens(tokens(usage))} tok"
    return text + (f" · {fmt_cost(cost)}" if cost is not None else "")


def usage_line(usage: dict[str, Any]) -> str:
    """For `aft runs`, /status and transcripts: 'LLM: 12.3k tokens, $0.04 (openai/gpt-4o-mini, 5 calls)'."""
    calls = int(usage.get("calls") or 0)
    details = [str(usage["model"])] if usage.get("model") else []
    if calls:
        details.append(f"{calls} call{'s' if calls != 1 else ''}")
    tail = f" ({', '.join(details)})" if details else ""
    return f"LLM: {fmt_tokens(tokens(usage))} tokens, {fmt_cost(usage.get('cost_usd'))}{tail}"


def add(totals: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Several sessions' spending as one (for `aft runs --all`)."""
    out: dict[str, Any] = {"model": "", "prompt_tokens": 0, "completion_tokens": 0, "cost_usd": None, "calls": 0}
    models: list[str] = []
    for usage in totals:
        if not used(usage):
            continue
        out["prompt_tokens"] += int(usage.get("prompt_tokens") or 0)
        out["completion_tokens"] += int(usage.get("completion_tokens") or 0)
        out["calls"] += int(usage.get("calls") or 0)
        if usage.get("cost_usd") is not None:
            out["cost_usd"] = (out["cost_usd"] or 0.0) + float(usage["cost_usd"])
        if usage.get("model") and usage["model"] not in models:
            models.append(str(usage["model"]))
    out["model"] = ", ".join(models)
    return out


def session_usage(state_dir: Path, session_id: str) -> dict[str, Any] | None:
    """A recorded session's totals: from its state file, else from the last `llm_usage` event in its log."""
    from aft_tui.engine.session import SessionState, log_path
    from aft_tui.errors import UserError

    try:
        usage = SessionState.load(Path(state_dir), session_id).notes.get("llm_usage")
    except (UserError, TypeError):
        usage = None
    if isinstance(usage, dict):
        return usage
    path = log_path(Path(state_dir), session_id)
    if not path.is_file():
        return None
    return last_usage_in_log(path)


def last_usage_in_log(path: Path) -> dict[str, Any] | None:
    """The totals of the last `llm_usage` line of a session log (read as text: no event objects)."""
    import json

    from aft_tui.engine.events import LLMUsage
    from aft_tui.engine.field_types import typed_fields

    last = None
    with open(path, encoding="utf-8", errors="replace") as fh:  # a damaged byte spoils one line, not the command
        for line in fh:
            if '"llm_usage"' not in line:
                continue
            try:
                data = json.loads(line)
                if isinstance(data, dict) and data.get("kind") == "llm_usage":
                    last = typed_fields(LLMUsage, data)  # a damaged line is not counted
            except (ValueError, RecursionError):
                continue
    if last is None:
        return None
    return {k: last.get(k) for k in ("model", "prompt_tokens", "completion_tokens", "cost_usd", "calls")}
