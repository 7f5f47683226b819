"""The research journal: what was tried, what it scored, what was kept and why, in words.

It is markdown a person reads in the morning and the LLM reads back before proposing the next
change, so a restarted session neither repeats an idea nor forgets what it learnt.
"""

from __future__ import annotations

import time

from aft_tui.engine.research.records import Experiment
from aft_tui.formatting import fmt_params


def header(script: str, metric: str, direction: str, hours: float | None, experiment_time: float | None) -> str:
    budget = f"{hours:g} h" if hours else "until stopped"
    per = f"{experiment_time:g} s per experiment" if experiment_time else "no fixed time per experiment"
    better = "higher" if direction == "max" else "lower"
    return (f"# Research journal: {script}\n\nObjective: {metric} ({better} is better). Budget: {budget}; {per}.\n"
            f"Started {time.strftime('%Y-%m-%d %H:%M', time.localtime())}.")


def entry(e: Experiment, metric: str) -> str:
    value = "no value" if e.value is None else f"{metric} = {e.value:.6g}"
    lines = [f"## Experiment {e.number}: {e.description}",
             f"- kind: {e.kind} ({e.source}); status: **{e.status}**; {value}"
             + (f"; stopped at the time limit" if e.stopped_at_limit else "")]
    if e.params:
        lines.append(f"- parameters: {fmt_params(e.params)}")
    if e.code_commit:
        lines.append(f"- code commit {e.code_commit[:10]}" + (f", reverted by {e.revert_commit[:10]}" if e.revert_commit else ""))
    if e.knobs:
        lines.append(f"- new knobs: {', '.join(e.knobs)}")
    if e.reason:
        lines.append(f"- why: {e.reason}")
    return "\n".join(lines)


def note(text: str) -> str:
    return f"> {time.strftime('%H:%M', time.localtime())} {text}"


JOURNAL_TAIL = 12_000
"""Characters of journal.md the model reads back: its latest entries and notes."""


def for_model(experiments: list[Experiment], metric: str, journal_text: str) -> str:
    """What the model reads before proposing a change: every idea tried and every failure (so
    nothing is repeated, even after a restart), then the journal itself, its latest part in full
    (steering notes, refusals and rejections are only there)."""
    ideas = [f"- #{e.number} {e.description}: {e.status}" + (f" ({e.reason})" if e.reason else "")
             for e in experiments if e.kind == "code"]
    failures = [f"- #{e.number} {fmt_params(e.params)}: {e.reason}" for e in experiments
                if e.status == "crash" and e.kind != "code"]
    parts = []
    if ideas:
        parts.append("Code changes tried so far:\n" + "\n".join(ideas))
    if failures:  # out-of-memory and other failure regions: not to be proposed again
        parts.append("Parameter values that failed (avoid them):\n" + "\n".join(failures[-20:]))
    text = journal_text if len(journal_text) <= JOURNAL_TAIL else "...\n" + journal_text[-JOURNAL_TAIL:]
    if text.strip():
        parts.append("The research journal:\n\n" + text.strip())
    return "\n\n".join(parts)
