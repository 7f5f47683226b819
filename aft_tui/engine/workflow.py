"""Making a script tunable: inspect → refactor → smoke run → repair, each step a proposal.

A refactor is applied to the session worktree only after it is approved, proven statically
(`check_static`) and shown to run (the smoke run); only then is it committed. A failing smoke
run starts the offline repair: the cause is localised by bisecting the lifted parameters and
the refactor is re-proposed without the one that broke it (at most three repairs).
"""

from __future__ import annotations

import asyncio
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aft_tui.engine import events as ev
from aft_tui.engine.trial import TrialOutcome, TrialRun
from aft_tui.errors import UserError
from aft_tui.target.patches import apply_unified_diff
from aft_tui.target.source_text import temporarily

MAX_REPAIRS = 3


@dataclass
class SmokeResult:
    ok: bool
    outcome: TrialOutcome
    summary: str
    run_id: str = ""
    args: tuple[str, ...] = ()  # everything passed: the person's arguments, fixed values, --smoke extras
    command: tuple[str, ...] = ()
    extras: tuple[str, ...] = ()  # the --smoke extras alone
    slot: tuple[Any, int] | None = None  # (GPUs, OpenMP threads) it ran with
    commit: str = ""  # the commit it proved, once committed

    @property
    def ran_defaults(self) -> bool:
        """It ran to the end with the person's arguments and fixed values and no --smoke extras:
        exactly the run trial 1 would be."""
        return self.ok and not self.extras and self.outcome.status == "ok"


class Stopped(Exception):
    """The person stopped the session (Ctrl-C, /stop) while a smoke run ran: nothing it measured
    may be read as a verdict on the refactor (a cancelled run would look like a broken one)."""


class Workflow:
    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self._smokes = 0
        self._running: TrialRun | None = None
        self.stopped_by = ""  # the diagnosis sentence of an environmental failure, once one stopped the work
        self.interrupted = False  # the person stopped it; said once, nothing committed

    def cancel_running(self) -> None:
        """Stop the smoke run in progress (the engine's request_stop)."""
        if self._running is not None:
            asyncio.get_event_loop().create_task(self._running.cancel("cancelled"))

    # -- inspect --------------------------------------------------------------------
    def inspect(self) -> Any:
        discovery = self.engine.discover()
        self.engine.state.notes["discovery"] = discovery.to_dict()
        self.engine.state.save(self.engine.state_dir)
        return discovery

    # -- smoke run --------------------------------------------------------------------
    async def smoke(self, extra_args: list[str] | None = None, label: str = "smoke") -> SmokeResult:
        """Run the worktree script briefly; passing means it ran (or ran until the time limit)
        without an error and reported at least one metric."""
        engine = self.engine
        settings = engine.settings
        self._smokes += 1
        run_id = f"{engine.session_id}-{label}{self._smokes}"
        extras = list(extra_args if extra_args is not None else shlex.split(settings.smoke or ""))
        args = await asyncio.to_thread(self.baseline_args) + extras
        command = engine.interpreter.command(str(engine.work_script), args)
        gpus, omp_threads = engine.first_slot()
        spec = engine.trial_spec(run_id, 0, {}, command, timeout=settings.smoke_timeout, gpus=gpus,
                                 omp_threads=omp_threads)
        if engine.stop_requested:
            raise Stopped
        engine.info_message(f"Smoke run {run_id}: {' '.join(args) or 'no flags'} (time limit {settings.smoke_timeout:g} s).")
        self._running = TrialRun(spec, engine.emit, None, None)
        try:
            outcome = await self._running.run()
        finally:
            self._running = None
        if engine.stop_requested:
            raise Stopped
        reported = bool(outcome.metric_names)
        ran = dict(run_id=run_id, args=tuple(args), command=tuple(command), slot=(gpus, omp_threads),
                   extras=tuple(extras))
        if outcome.status == "ok" and reported:
            return SmokeResult(True, outcome, f"the smoke run passed in {outcome.duration:.1f}s and reported "
                                              f"{', '.join(outcome.metric_names[:6])}", **ran)
        if outcome.status == "timeout" and reported and outcome.returncode in (None, 0, -2, -15, -9):
            return SmokeResult(True, outcome, f"the smoke run trained without error until the {settings.smoke_timeout:g} s "
                                              f"limit and reported {', '.join(outcome.metric_names[:6])}", **ran)
        reason = outcome.reason or ("it reported no metric" if not reported else outcome.status)
        return SmokeResult(False, outcome, f"the smoke run failed: {reason}", **ran)

    def baseline_args(self) -> list[str]:
        """What every smoke run passes before its --smoke extras: the person's arguments with the
        fixed values of aft.toml ([search.X] fixed) that the script in the worktree takes as flags."""
        from aft_tui.runs.invocation import baseline_args
        from aft_tui.tuning.space import build_space

        engine = self.engine
        fixed = {name: o for name, o in (engine.settings.search or {}).items() if isinstance(o, dict) and "fixed" in o}
        if not fixed:
            return engine.script_args
        params = [p for p in engine.discover().params if p.name in fixed and p.flag]
        try:
            space = build_space(params, {name: fixed[name] for name in (p.name for p in params)}, None)
        except UserError:
            return engine.script_args
        return baseline_args(space, engine.script_args)

    # -- refactor ---------------------------------------------------------------------------
    def _plan(self, discovery: Any, chosen: list[str] | None) -> Any:
        from aft_tui.target.refactor import plan_refactor

        return plan_refactor(self.engine.work_script, discovery, chosen, project_root=self.engine.work_root)

    async def refactor(self) -> bool:
        """Propose, prove and commit the refactor. True when the script is tunable afterwards."""
        self.interrupted = False
        try:
            return await self._refactor()
        except Stopped:
            return self._stopped("the refactor")

    def _stopped(self, what: str) -> bool:
        self.interrupted = True
        self.engine.info_message(f"Stopped during {what}'s smoke runs; nothing of it was committed.")
        return False

    async def _refactor(self) -> bool:
        engine = self.engine
        discovery = await asyncio.to_thread(self.inspect)
        engine.info_message(_describe_discovery(discovery))
        plan = None
        if discovery.params:
            plan = await asyncio.to_thread(self._plan, discovery, engine.settings.params)
            if not plan.changed:
                engine.info_message(f"{engine.info.rel_script} already exposes its parameters as flags and reports its "
                                    "metrics; no refactor needed.")
                return True
        else:
            # No rule covers this script: an LLM (when configured) may still propose a refactor,
            # which goes through the same static proof and smoke run.
            llm_refactor = getattr(engine.brain, "refactor_plan", None)
            if llm_refactor is not None:
                plan = await llm_refactor(engine, discovery, "; ".join(engine.state.notes.get("goals", [])))
            if plan is None:
                engine.info_message(discovery.hint or "No tunable parameter found.")
                return False
        chosen = [p.name for p in plan.lifted]
        return await self._propose_and_prove(discovery, plan, chosen, kind="refactor", attempt=0, failure="")

    async def _propose_and_prove(self, discovery: Any, plan: Any, chosen: list[str], kind: str, attempt: int,
                                 failure: str) -> bool:
        engine = self.engine
        from aft_tui.target.equivalence import check_static
        from aft_tui.target.source_text import encode_source

        report = check_static(plan.original, plan.new_source, plan)
        if not report.ok:
            engine.emit(ev.ErrorEvent(message="The refactor changes more than the surface; it was not applied.",
                                      detail="; ".join(report.problems)))
            return False
        rationale = plan.rationale
        if failure:
            rationale = f"{failure} {rationale}"
        proposal = ev.Proposal(proposal_kind=kind, title=f"{kind} {engine.info.rel_script}: expose "
                               f"{len(plan.lifted)} parameter(s) as flags", diff=plan.diff,
                               rationale=rationale + " Static check: passed (each flag's default restores the original code).",
                               files=[str(engine.info.rel_script)])
        decision = await engine.propose(proposal)
        if not decision.approved:
            engine.info_message("Refactor rejected; nothing was changed." + (f" Feedback kept: {decision.feedback}" if decision.feedback else ""))
            engine.state.notes.setdefault("feedback", []).append(decision.feedback)
            engine.state.save(engine.state_dir)
            return False
        new_source = plan.new_source
        if decision.edited_diff is not None:
            try:
                new_source = apply_unified_diff(plan.original, decision.edited_diff, str(engine.info.rel_script))
            except ValueError as exc:
                engine.emit(ev.ErrorEvent(message=f"Your edited diff does not apply ({exc}); nothing was changed."))
                return False
            engine.info_message("Applying your edited version; the static proof covers AFT's own changes only, "
                                "so the smoke run is its check.")
        with temporarily(engine.work_script, new_source):
            smoke = await self.smoke()
        if smoke.ok:
            message = _commit_message(kind, plan, smoke.summary, failure)
            if decision.edited_diff is not None:
                message = message.replace("\n\n", " (edited by the user)\n\n", 1)
            sha = await asyncio.to_thread(engine.workspace.commit, message,
                                          {str(engine.info.rel_script): encode_source(new_source)})
            engine.emit(ev.CommitMade(sha=sha, message=message.splitlines()[0], branch=engine.workspace.branch))
            engine.state.notes["refactor"] = {"commit": sha, "lifted": chosen, "reporting": plan.reporting}
            engine.state.space = None  # the space is rediscovered from the refactored script
            engine.state.save(engine.state_dir)
            smoke.commit = sha
            engine.baseline_run = smoke if smoke.ran_defaults else None
            engine.info_message(f"Refactor committed ({sha[:10]}): {smoke.summary}.")
            return True
        engine.info_message(f"The refactor was not committed: {smoke.summary}.")
        if self._stop_if_environmental(smoke):
            return False
        if attempt >= MAX_REPAIRS:
            engine.emit(ev.ErrorEvent(message=f"Gave up after {MAX_REPAIRS} repairs; the script is unchanged.",
                                      detail=smoke.summary))
            return False
        return await self._repair(discovery, chosen, smoke, attempt + 1)

    def _stop_if_environmental(self, smoke: SmokeResult) -> bool:
        """A smoke run that failed because of its surroundings (a missing package or file, no GPU
        memory, a required argument) says nothing about the refactor: repairing it by bisecting
        the lifted parameters would only repeat the failure. Say the one sentence and stop."""
        from aft_tui.runs.diagnosis import RunContext, diagnose_outcome

        engine = self.engine
        context = RunContext(cwd=engine.trial_cwd, person_cwd=engine.info.project / engine.info.rel_cwd,
                             interpreter=engine.interpreter, script=str(engine.info.rel_script),
                             log_path=engine.outputs.log_path(smoke.run_id), command="pipeline")
        diagnosis = diagnose_outcome(smoke.outcome, context)
        if smoke.outcome.status != "failed" or not diagnosis.environmental:
            return False
        self.stopped_by = diagnosis.sentence
        engine.emit(ev.ErrorEvent(message=diagnosis.sentence,
                                  detail=f"the smoke run {smoke.run_id} failed; the refactor is not the cause, so "
                                         "AFT did not try to repair it"))
        return True

    # -- repair -------------------------------------------------------------------------------
    async def _repair(self, discovery: Any, chosen: list[str], failed: SmokeResult, attempt: int) -> bool:
        engine = self.engine
        original = await self.smoke_original()
        if not original.ok and self._stop_if_environmental(original):
            return False
        if not original.ok:
            engine.emit(ev.ErrorEvent(
                message=f"The original script fails too ({original.summary}); fix it so `python "
                        f"{' '.join([str(engine.info.rel_script), *engine.script_args])}` runs, then try again.", detail="\n".join(original.outcome.tail[-20:])))
            return False
        llm_plan = await self._llm_repair(discovery, chosen, failed)
        if llm_plan is not None:
            plan, note = llm_plan
            return await self._propose_and_prove(discovery, plan, chosen, "repair", attempt, note)
        culprit = await self._bisect(discovery, chosen)
        if culprit is None:
            engine.emit(ev.ErrorEvent(message="Could not localise the failure to one lifted parameter; the script is "
                                              "unchanged. Configure an LLM (--model) for repairs of this kind.",
                                      detail=failed.summary))
            return False
        remaining = [name for name in chosen if name != culprit]
        plan = await asyncio.to_thread(self._plan, discovery, remaining)
        note = (f"Repair {attempt}: {failed.summary}; bisecting the lifted parameters showed that lifting "
                f"'{culprit}' breaks the script, so it stays hard-coded.")
        return await self._propose_and_prove(discovery, plan, remaining, "repair", attempt, note)

    async def smoke_original(self) -> SmokeResult:
        """The untouched script under the same limits: tells a broken refactor from a broken script."""
        return await self.smoke(extra_args=[], label="original")

    async def _bisect(self, discovery: Any, chosen: list[str]) -> str | None:
        """Find one parameter whose lifting breaks the smoke run (halving the candidate set)."""
        candidates = list(chosen)
        while len(candidates) > 1:
            half = candidates[: len(candidates) // 2]
            plan = await asyncio.to_thread(self._plan, discovery, [n for n in chosen if n not in half])
            with temporarily(self.engine.work_script, plan.new_source):
                result = await self.smoke(label="bisect")
            candidates = half if result.ok else candidates[len(candidates) // 2:]
        if not candidates:
            return None
        plan = await asyncio.to_thread(self._plan, discovery, [n for n in chosen if n != candidates[0]])
        with temporarily(self.engine.work_script, plan.new_source):
            result = await self.smoke(label="bisect")
        return candidates[0] if result.ok else None

    async def _llm_repair(self, discovery: Any, chosen: list[str], failed: SmokeResult) -> tuple[Any, str] | None:
        brain = self.engine.brain
        repair = getattr(brain, "repair_plan", None)
        if repair is None:
            return None
        return await repair(self.engine, discovery, chosen, failed)

    async def repair(self) -> bool:
        """`aft repair`: smoke-run the session's current script and repair the refactor if it fails."""
        self.interrupted = False
        try:
            return await self._repair_current()
        except Stopped:
            return self._stopped("the repair")

    async def _repair_current(self) -> bool:
        from aft_tui.target.source_text import decode_source

        engine = self.engine
        result = await self.smoke()
        if result.ok:
            engine.info_message(f"Nothing to repair: {result.summary}.")
            return True
        if self._stop_if_environmental(result):
            return False
        refactor = engine.state.notes.get("refactor")
        if not refactor:
            engine.emit(ev.ErrorEvent(message=f"The script fails ({result.summary}) and AFT has not refactored it in "
                                              "this session, so there is no change of AFT's to repair; fix the script first."))
            return False
        # Go back to the pre-refactor source and re-plan without the culprit.
        blob = await asyncio.to_thread(engine.workspace.file_bytes_at, refactor["commit"] + "^", str(engine.info.rel_script))
        if blob is None:
            return False
        parent = decode_source(blob, engine.info.rel_script.name)
        with temporarily(engine.work_script, parent):
            discovery = await asyncio.to_thread(self.inspect)
        engine.workspace.commit("repair: restore the script before AFT's refactor",
                                {str(engine.info.rel_script): blob})
        return await self._repair(discovery, refactor["lifted"], result, 1)

    # -- pipeline ---------------------------------------------------------------------------------
    async def pipeline(self, trials: int | None = None) -> dict[str, Any] | None:
        """inspect → refactor → repair → tune → analyse; resumable from the step it reached."""
        engine = self.engine
        stage = engine.state.notes.get("pipeline_stage", "refactor")
        if stage == "refactor":
            if not await self.refactor():
                if not (self.stopped_by or self.interrupted):  # either has said why in one sentence already
                    engine.emit(ev.ErrorEvent(message="The pipeline stopped before tuning: the script is not tunable yet."))
                return None
            engine.state.notes["pipeline_stage"] = "tune"
            engine.state.save(engine.state_dir)
        summary = await engine.tune(trials)
        engine.state.notes["pipeline_stage"] = "done"
        engine.state.save(engine.state_dir)
        best = summary.get("best")
        if best and best.get("findings"):
            engine.emit(ev.AssistantMessage(text=_analysis_text(best), message_id="analysis"))
        return summary


def _describe_discovery(discovery: Any) -> str:
    params = ", ".join(f"{p.name}={p.default!r} ({p.source})" for p in discovery.params[:12]) or "none"
    more = f" and {len(discovery.params) - 12} more" if len(discovery.params) > 12 else ""
    metrics = ", ".join(discovery.metrics[:8]) or "none found statically"
    return (f"Found {len(discovery.params)} parameter(s): {params}{more}. Framework: {discovery.framework}. "
            f"Metrics: {metrics}.")


def _commit_message(kind: str, plan: Any, smoke: str, failure: str) -> str:
    flags = ", ".join(p.flag or p.name for p in plan.lifted)
    head = f"{kind}: expose {flags or 'metric reporting'}"
    body = [plan.rationale, f"Static check passed; {smoke}."]
    if failure:
        body.insert(0, failure)
    return head[:200] + "\n\n" + "\n\n".join(body)


def _analysis_text(best: dict[str, Any]) -> str:
    lines = [f"Analysis of the best trial ({best['run_id']}):"]
    lines += [f"- {f.get('sentence')}" for f in best.get("findings", [])]
    return "\n".join(lines)
