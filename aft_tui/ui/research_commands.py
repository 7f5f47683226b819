"""`/research` in the chat: start a research session, and pause, resume or steer the one running.

Returns (kind, text, data) for the router (ui/commands.py) to wrap, so this module needs
nothing from it.
"""

from __future__ import annotations

from typing import Any

from aft_tui.errors import UserError
from aft_tui.slash_commands import ParsedCommand

Result = tuple[str, str, Any]


def _loop(engine: Any) -> Any:
    tuner = getattr(engine, "tuner", None)
    return tuner if tuner is not None and callable(getattr(tuner, "steer", None)) else None


def running(engine: Any) -> bool:
    """A research loop is running now (its experiments in flight or between them)."""
    loop = _loop(engine)
    return loop is not None and not loop.end_reason


def report(engine: Any) -> Result:
    """The latest research session's report, as `aft research report` writes and prints it."""
    from aft_tui.engine.research.report import build_report, write_report

    built = build_report(engine.info.project, None)
    paths = write_report(built, built.folder)
    return "text", built.text() + "\n" + "\n".join(f"Wrote {path}" for path in paths), None


async def start(engine: Any, parsed: ParsedCommand) -> Result:
    from aft_tui.engine.research.options import ResearchOptions, parse_duration

    if parsed.args:  # a word research does not know would otherwise start a session
        return ("error", f"/research has no '{parsed.args[0]}': it takes pause, resume or steer TEXT while research "
                         "runs, report for the latest session's results, or options to start one "
                         "(--hours, --experiment-time, --experiments).", None)

    options = ResearchOptions(approve="all" if getattr(engine.settings, "yes", False) else "numeric")
    try:
        if "hours" in parsed.options:
            options.hours = float(parsed.options["hours"])
            if not options.hours > 0:
                raise ValueError
            engine.settings.budget = options.hours * 3600
        if "experiments" in parsed.options:
            options.experiments = int(parsed.options["experiments"])
            if options.experiments < 1:
                raise ValueError
    except ValueError:
        return "error", "--hours takes a positive number of hours and --experiments a positive count.", None
    try:
        options.experiment_time = parse_duration(parsed.options.get("experiment-time"))
    except UserError as exc:
        return "error", exc.chat_message, None
    from aft_tui.engine.research.session import run_research

    summary = await run_research(engine, options)
    if summary is None:
        return "error", "/research stopped before its first experiment; the messages above say why.", None
    research = summary.get("research") or {}
    best = research.get("best_value")
    kept = research.get("kept_code") or []
    text = (f"/research finished ({summary.get('end_reason', '')}): {research.get('experiments', 0)} experiment(s)"
            + (f", best {research.get('metric')}={best:.6g}" if isinstance(best, (int, float)) else "")
            + (f", code kept: {'; '.join(kept)}" if kept else ", no code change kept")
            + f". Report: /research report (from a shell: `aft research report --session {research.get('session')}`).")
    return "done", text, summary


def control(engine: Any, args: list[str]) -> Result:
    loop = _loop(engine)
    if loop is None or loop.end_reason:
        return "error", "No research is running; start one with /research.", None
    word = args[0].lower()
    if word == "pause":
        loop.pause()
        return "text", "Research will pause after the running experiment; /research resume goes on.", None
    if word == "resume":
        loop.resume()
        return "text", "Research resumed.", None
    text = " ".join(args[1:]).strip()
    if not text:
        return "error", "Say what to steer towards, e.g. /research steer try a cosine schedule.", None
    loop.steer(text)
    return "text", f"Noted for the next code experiments: {text}", None
