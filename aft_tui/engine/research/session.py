"""A research session from the start: the script's settings exposed as flags (the pipeline's
refactor), a time-budget check inserted when experiments have a fixed time, then the loop.
Each step is recorded in the session state, so a restarted session goes straight to the loop
and continues from its journal.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aft_tui.engine import events as ev
from aft_tui.engine.research.code_changes import read_text, unified_diff
from aft_tui.engine.research.options import ResearchOptions

from aft_tui.engine.research.context import ResearchHost

UNLIMITED = 10 ** 9


async def run_research(engine: ResearchHost, options: ResearchOptions) -> dict[str, Any] | None:
    notes = engine.state.notes
    stage = notes.get("research_stage", "refactor")
    options.restore(notes.get("research_options"))  # a restart keeps what the session was started with
    notes["research_options"] = options.saved()
    if options.experiment_time:
        from aft_tui.target.time_budget import BUDGET_ENV

        engine.trial_env[BUDGET_ENV] = f"{options.experiment_time:g}"
    if stage == "refactor":
        if not await engine.workflow.refactor():
            if not (engine.workflow.stopped_by or engine.workflow.interrupted):
                engine.emit(ev.ErrorEvent(message="Research stopped before its first experiment: the script's "
                                                  "settings could not be exposed as flags."))
            return None
        stage = _advance(engine, "budget")
    if stage == "budget":
        if options.experiment_time:
            options.budget_check = await _insert_budget_check(engine, options)
            if options.budget_check:
                engine.baseline_run = None  # the smoke run trained without the budget: trial 1 runs again
        notes["research_budget_check"] = options.budget_check
        stage = _advance(engine, "research")
    options.budget_check = bool(notes.get("research_budget_check"))
    from aft_tui.runs import slots

    options.gpu = bool(slots.gpu_ids())  # GPU-only recipes (bf16 autocast, compile) only where they can help
    options.origin_commit = await asyncio.to_thread(lambda: engine.workspace.snapshot)
    from aft_tui.engine.research.loop import ResearchLoop

    loop = ResearchLoop(engine, options)
    engine.tuner = loop
    if engine.state.status != "running":
        engine.state.status = "running"
        engine.state.save(engine.state_dir)
    try:
        summary = await loop.run(options.experiments or UNLIMITED)
    except BaseException as exc:
        engine.state.status = "interrupted" if isinstance(exc, (KeyboardInterrupt, asyncio.CancelledError)) else "failed"
        engine.state.save(engine.state_dir)
        raise
    engine.state.status = "interrupted" if summary.get("end_reason") == "cancelled" else "finished"
    engine.state.save(engine.state_dir)
    await asyncio.to_thread(_write_report, engine)
    return summary


def _advance(engine: ResearchHost, stage: str) -> str:
    engine.state.notes["research_stage"] = stage
    engine.state.save(engine.state_dir)
    return stage


async def _insert_budget_check(engine: ResearchHost, options: ResearchOptions) -> bool:
    """Make the script stop training at the experiment's time budget and still evaluate, so every
    experiment trains for the same time whatever it changes. Shown as a diff like any change."""
    from aft_tui.target.time_budget import has_budget_check, insert_budget_check

    rel = str(engine.info.rel_script)
    source = await asyncio.to_thread(read_text, engine.work_script)
    if has_budget_check(source):
        return True
    edit = insert_budget_check(source)
    if edit is None:
        engine.info_message(f"AFT found no training loop in {rel} to stop at the time budget; each experiment is "
                            f"stopped from outside after {options.experiment_time:g} s and recorded as stopped at the limit.")
        return False
    proposal = ev.Proposal(proposal_kind="research", title=f"research set-up: stop training in {rel} at the time budget",
                           diff=unified_diff(rel, source, edit.new_source), files=[rel],
                           rationale=(f"Each experiment trains for {options.experiment_time:g} s, so experiments are "
                                      f"comparable whatever they change. The check goes into {edit.where}; without "
                                      "AFT_TIME_BUDGET set the script runs exactly as before."))
    decision = await engine.propose(proposal, auto=True if options.approve == "all" else None)
    if not decision.approved:
        engine.info_message("Budget check rejected: each experiment is stopped from outside at the limit instead.")
        return False
    from aft_tui.target.source_text import encode_source

    message = (f"research set-up: stop training at AFT_TIME_BUDGET ({edit.where})\n\n"
               "Without the variable the script runs exactly as before.")
    sha = await asyncio.to_thread(engine.workspace.commit, message, {rel: encode_source(edit.new_source)})
    engine.emit(ev.CommitMade(sha=sha, message=message.splitlines()[0], branch=engine.workspace.branch))
    engine.state.space = None
    engine.state.save(engine.state_dir)
    return True


def _write_report(engine: ResearchHost) -> None:
    """The report (leaderboard, kept diff, plot) at the end of every research run."""
    from aft_tui.engine.research.report import build_report, write_report

    try:
        report = build_report(engine.info.project, engine.session_id)
        paths = write_report(report, engine.outputs.root / "research" / engine.session_id)
    except Exception as exc:  # the experiments are recorded; a report that fails is said, not fatal
        engine.info_message(f"Could not write the research report ({exc}); `aft research report` tries again.")
        return
    if paths:
        engine.info_message(f"Research report: {paths[0]}")
