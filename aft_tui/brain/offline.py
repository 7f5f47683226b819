"""The offline brain: deterministic answers, no network, no key.

It knows what the session is doing (from the engine's chat context), which commands exist,
how to configure a model, and it acts on simple goals said in words. Refactors, repairs and
parameter choices are left to the rule-based code and the optimizer (it returns None).
"""

from __future__ import annotations

import math
import re
from typing import Any

from aft_tui.brain.base import ChunkCallback, EditProposal, ParamProposal
from aft_tui.brain.goals import apply_goal, parse_goal
from aft_tui.formatting import fmt_params, fmt_value
from aft_tui.slash_commands import help_text as commands_help

CONFIGURE_MODEL = ("Set --model (e.g. openai/gpt-4o-mini or ollama/llama3.1) and the provider's key in the environment "
                   "(e.g. OPENAI_API_KEY); for a local OpenAI-compatible server add --api-base http://localhost:11434. "
                   "`aft doctor` says which models are usable; in the chat, /model NAME switches without restarting.")


def assistant_note(settings: Any) -> str:
    """One line for the start of a conversation: who answers free text, and how to get a model."""
    if getattr(settings, "model", None):
        where = f" at {settings.api_base}" if getattr(settings, "api_base", None) else ""
        return f"Assistant: {settings.model}{where}; ask it anything about the script and the runs."
    return ("Assistant: offline (no model configured). It understands goals such as \"maximise val_acc in 20 "
            "trials\"; for free-form questions set a model with /model NAME (e.g. /model openai/gpt-4o-mini) or "
            "--model, with the provider's key in the environment.")


_HELP_RE = re.compile(r"\b(help|commands?|what can (?:you|i) do|how do i|usage)\b", re.IGNORECASE)
_MODEL_RE = re.compile(r"\b(model|llm|api[ _-]?key|openai|anthropic|ollama|gpt|claude|configure|assistant|offline)\b",
                       re.IGNORECASE)
_STATUS_RE = re.compile(r"\b(status|progress|best|doing|so far|how is|how's|going|results?|summary|trials?)\b",
                        re.IGNORECASE)


class OfflineBrain:
    name = "offline"
    model: str | None = None  # no model: the llm and hybrid strategies say they need one

    def __init__(self) -> None:
        self.last_problem: str | None = None

    @property
    def usage(self) -> dict[str, Any]:
        return {"prompt_tokens": 0, "completion_tokens": 0, "cost_usd": None}

    async def chat(self, text: str, context: dict[str, Any], on_chunk: ChunkCallback, engine: Any) -> str:
        reply = self.answer(text, context, engine)
        on_chunk(reply)
        return reply

    def answer(self, text: str, context: dict[str, Any], engine: Any = None) -> str:
        """The whole reply; deterministic for the same text and context."""
        known = _known_metrics(context)
        goal = parse_goal(text, known)
        if goal.understood:
            goal = apply_goal(goal, engine) if engine is not None else goal
            lines = list(goal.notes) if goal.notes else ["Understood: " + ", ".join(f"{k}={v}" for k, v in goal.settings.items()) + "."]
            if goal.settings:
                lines.append(next_step(engine))
            return "\n".join(lines)
        if _MODEL_RE.search(text):
            return ("I am the offline assistant: I understand simple goals (\"maximise accuracy\", \"minimise val loss\", "
                    "\"try 20 trials\", \"use the hybrid strategy\") and every command below works without a model.\n"
                    + CONFIGURE_MODEL)
        if _HELP_RE.search(text):
            return self.help_text()
        if _STATUS_RE.search(text):
            return status_text(context)
        return (status_text(context) + "\n\n"
                "I did not recognise a goal or a command in that. I understand goals such as \"maximise accuracy\", "
                "\"minimise val loss\", \"try 20 trials\" or \"use random search\"; /help lists the commands. "
                "For free-form questions, configure a model: " + CONFIGURE_MODEL)

    @staticmethod
    def help_text() -> str:
        lines = [commands_help()]  # the views' own command list, so the assistant and /help never disagree
        lines.append("Free text: a goal such as \"maximise val_acc in 20 trials\". " + CONFIGURE_MODEL)
        return "\n".join(lines)

    async def refactor(self, source: str, discovery: dict[str, Any], goal: str) -> EditProposal | None:
        return None

    async def repair(self, source: str, traceback: str, diff: str, log_tail: str) -> EditProposal | None:
        return None

    async def propose_params(self, space: Any, records: list[dict[str, Any]], findings: list[dict[str, Any]],
                             optimizer_choice: dict[str, Any] | None) -> ParamProposal | None:
        self.last_problem = "no model is configured (" + CONFIGURE_MODEL.split(";")[0] + ")"
        return None


def next_step(engine: Any) -> str:
    """/tune or /pipeline, from what the script exposes now (its session copy, after any refactor)."""
    generic = "Run /tune to start (or /pipeline if the script does not take flags yet)."
    script = getattr(engine, "work_script", None) if engine is not None else None
    if script is None:
        return generic
    try:
        found = engine.discover()
    except Exception:  # a hint only: never let it break the reply
        return generic
    tunable = [p for p in found.params if p.extra.get("tunable", True)]
    flags = [p.name for p in tunable if p.flag and p.source != "config_file"]
    hard = [p.name for p in tunable if not p.flag and p.source != "config_file"]
    name = getattr(getattr(engine, "info", None), "rel_script", None) or script.name

    def listed(names: list[str]) -> str:
        return ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")

    if flags and not hard:
        return f"Run /tune to start: {name} takes its parameters as flags ({listed(flags)})."
    if hard and not flags:
        return (f"{name} hard-codes its parameters ({listed(hard)}): run /pipeline to expose them as flags "
                "(a diff for you to approve) and tune them.")
    if flags and hard:
        return (f"Run /tune to tune the flags {name} takes ({listed(flags)}), or /pipeline to also expose what "
                f"it hard-codes ({listed(hard)}).")
    return generic


def _known_metrics(context: dict[str, Any]) -> list[str]:
    names = [context.get("metric")] if context.get("metric") else []
    for row in context.get("runs") or []:
        names.extend(row.get("metrics_reported") or [])
    return [n for n in dict.fromkeys(names) if isinstance(n, str)]


def status_text(context: dict[str, Any]) -> str:
    """One short paragraph: target, objective, progress, best so far and latest advice."""
    target = context.get("target") or "the script"
    metric, direction = context.get("metric"), context.get("direction")
    runs = context.get("runs") or []
    budget = context.get("trials_budget")
    lines = []
    objective = (f"optimising {metric} ({'higher' if direction == 'max' else 'lower'} is better)" if metric and direction
                 else f"optimising {metric}" if metric else "the objective is not chosen yet (AFT picks one from what the script reports, or say e.g. \"maximise val_acc\")")
    lines.append(f"Session on {target}: {objective}.")
    counted = [r for r in runs if r.get("status") in ("ok", "failed", "pruned", "timeout")]
    if not runs:
        lines.append(f"No trials yet; the budget is {budget} trials. Run /tune to start." if budget else "No trials yet.")
    else:
        statuses: dict[str, int] = {}
        for r in runs:
            statuses[r.get("status") or "?"] = statuses.get(r.get("status") or "?", 0) + 1
        done = ", ".join(f"{n} {s}" for s, n in statuses.items())
        lines.append(f"{len(counted)} of {budget} trials done ({done})." if budget else f"{len(counted)} trials done ({done}).")
        best = _best(runs, direction)
        if best is not None:
            params = fmt_params((best.get("params") or {}))
            lines.append(f"Best so far: trial {best.get('number')} with {metric}={fmt_value(best.get('value'))} ({params}).")
        failed = [r for r in runs if r.get("status") in ("failed", "timeout")]
        if failed and failed[-1].get("reason"):
            lines.append(f"Latest failure: trial {failed[-1].get('number')}: {failed[-1].get('reason')}.")
    findings = context.get("latest_findings") or []
    sentences = [f.get("sentence") for f in findings if isinstance(f, dict) and f.get("sentence")]
    if sentences:
        lines.append("Latest analysis: " + " ".join(sentences[:2]))
    return " ".join(lines)


def _best(runs: list[dict[str, Any]], direction: str | None) -> dict[str, Any] | None:
    ok = [r for r in runs if r.get("status") == "ok" and isinstance(r.get("value"), (int, float))
          and math.isfinite(r["value"])]
    if not ok:
        return None
    return (min if direction == "min" else max)(ok, key=lambda r: r["value"])
