"""The research loop: experiments on the numbers and on the code, one branch, kept only when they
beat the noise.

It is the tuning loop (engine/tuner/loop.py) with another way of choosing the next trial, so
every experiment takes the one path of a trial (commit, run, judge, record, tag, note). Around
that path it adds what research needs: the baseline run a few times to measure the noise, a
bandit choosing between the optimizer and code changes, a code change committed before its run
and reverted after it when it did not pay off, confirming re-runs, and the memory a restart
continues from (store.py).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from aft_tui.engine import events as ev
from aft_tui.engine.research import journal, words
from aft_tui.engine.research.approvals import ApprovalQueue
from aft_tui.engine.research.code_changes import CodeChange
from aft_tui.engine.research.experiment_plan import ExperimentPlan
from aft_tui.engine.research.memory import PeakMemory
from aft_tui.engine.research.options import ResearchOptions
from aft_tui.engine.research.records import Experiment, Kind, Status
from aft_tui.engine.research.repeatability import repeated
from aft_tui.engine.research.change_params import switched_on
from aft_tui.engine.research.sources import CodeSources
from aft_tui.engine.research.store import ResearchStore
from aft_tui.engine.research.verdicts import conclude, settle_unjudged
from aft_tui.engine.tuner import one_trial, setup
from aft_tui.engine.tuner.loop import Tuner
from aft_tui.formatting import fmt_params
from aft_tui.tuning.acceptance import noise_of
from aft_tui.tuning.bandit import Bandit

from aft_tui.engine.research.context import ResearchHost

BASELINE_RUNS = 3
"""The person's configuration runs this many times before any change: the spread is the noise."""


class ResearchLoop(Tuner):
    seeds_vary = True

    def __init__(self, host: ResearchHost, options: ResearchOptions) -> None:
        super().__init__(host)
        self.engine = host
        self.options = options
        self.store = ResearchStore(host.outputs.root, host.session_id)
        self.experiments: list[Experiment] = self.store.experiments()
        self.rstate = self.store.state()
        seed = self.settings.seed if isinstance(self.settings.seed, int) else 0
        self.bandit = Bandit.from_dict(self.rstate.bandit) if self.rstate.bandit else Bandit(seed=seed)
        self.sources = CodeSources(self)
        self.approvals = ApprovalQueue(self)
        self.pending_confirm: Experiment | None = None
        self.cut_short = False  # the running experiment's limit is the session's end, not its own
        self.current_kind: Kind | None = None
        self.pending_repair: tuple[CodeChange, str, int] | None = None  # a crashed change, its reason, the next attempt
        self.pending_retune: ExperimentPlan | None = None  # a change to run again at another learning rate
        self.resume_event = asyncio.Event()
        self.resume_event.set()

    # -- what the person controls ------------------------------------------------------------------
    def pause(self) -> None:
        self.rstate.paused = True
        self.resume_event.clear()
        self.save()
        self.host.info_message("Research paused after the running experiment; /research resume goes on.")

    def resume(self) -> None:
        self.rstate.paused = False
        self.resume_event.set()
        self.save()
        self.host.info_message("Research resumed.")

    def steer(self, text: str) -> None:
        """A note from the person ("try larger models next"): the LLM reads it with the journal;
        offline, a note naming a recipe moves that recipe first."""
        text = " ".join(text.split())
        if not text:
            return
        self.rstate.steer.append(text)
        self.store.append_journal(journal.note(f"The person steered: {text}"))
        self.save()
        self.host.info_message(f"Noted for the next code experiments: {text}")

    # -- the loop ---------------------------------------------------------------------------------------
    async def run(self, n_trials: int) -> dict[str, Any]:
        if (self.settings.parallel or 1) > 1:  # a code change is judged alone, on the one worktree
            self.host.info_message("Research runs one experiment at a time (each code change is judged on its own), "
                                   f"so --parallel {self.settings.parallel} does not apply.")
        self.settings.parallel = 1  # also on a cluster, whose default is as many as it holds
        self.host.info_message(words.opening(self, self.sources.any_code_source()))
        self.host.emit(ev.TuneProgress(done=len(self.experiments), total=self.count_limit, best=self.rstate.best_value,
                                       metric=self.metric or "", budget_left_s=self.settings.budget))
        if self.metric:
            setup.resolve_direction(self)
            self._ensure_header()
        if self.experiments:
            self.store.append_journal(journal.note(f"Restarted after {len(self.experiments)} experiment(s); "
                                                   "continuing from this journal."))
        if not self.rstate.origin_commit:
            self.rstate.origin_commit = self.options.origin_commit
        if not self.rstate.base_commit:
            self.rstate.base_commit = await asyncio.to_thread(self.host.workspace.head)
        if self.experiments:
            self.host.info_message(words.restart_summary(self))
            await settle_unjudged(self)
        if self.rstate.paused:
            self.resume_event.clear()
        try:
            summary = await super().run(n_trials)
            self.pending_confirm = self.pending_retune = None
            await settle_unjudged(self)  # the budget ended before a change's confirmation or retune ran
        finally:
            self.approvals.cancel_all()
            self.save()
        summary["research"] = self.research_summary()
        self.options.notify_event("end", summary["research"], self.host.info_message)
        self.store.append_journal(journal.note(f"Stopped: {self.end_reason}. {words.best_sentence(self)}"))
        return summary

    @property
    def count_limit(self) -> int:
        """--experiments, or 0 when the clock (or the person) ends the session."""
        return self.options.experiments or 0

    def _should_stop(self, n_trials: int) -> bool:
        if self._stopped():
            return True
        if len(self.experiments) >= n_trials:
            self.end_reason = f"{n_trials} experiments run"
            return True
        target, best = self.settings.target_value, self.rstate.best_value
        if target is not None and best is not None and (best >= target if self.direction == "max" else best <= target):
            self.end_reason = f"target value {target:g} reached"
            return True
        budget = self.settings.budget
        if budget is not None and time.time() - self.started >= budget:
            self.end_reason = "time budget reached"
            return True
        if budget is not None and budget - (time.time() - self.started) < 0.5 * self._typical_duration():
            # An experiment cut short by the session's end measures nothing: none is started.
            self.end_reason = "time budget reached (too little left for another experiment)"
            return True
        return False

    def _typical_duration(self) -> float:
        durations = sorted(e.duration for e in self.experiments if isinstance(e.duration, (int, float)))
        return durations[len(durations) // 2] if durations else 0.0

    def trial_timeout(self) -> float | None:
        """The experiment's limit: its time budget (plus time to evaluate when the script stops
        itself), never past the session's budget (then the experiment is marked cut short)."""
        timeout = self.options.hard_limit() or self.settings.timeout
        self.cut_short = False
        if self.settings.budget is not None:
            left = max(1.0, self.settings.budget - (time.time() - self.started))
            self.cut_short = not timeout or left < timeout
            timeout = min(timeout, left) if timeout else left
        return timeout

    def prune_check(self, trial: Any):  # type: ignore[no-untyped-def]
        """Only numeric experiments are pruned: a code change alters the learning curve itself
        (a warmup starts slower), and baselines and confirmations are measurements to finish."""
        if self.current_kind is not Kind.NUMERIC:
            return None
        return super().prune_check(trial)

    async def _wait_while_paused(self) -> bool:
        """Wait out a pause (False when stopped meanwhile). Paused time does not count toward
        --hours: a person who pauses research for the night resumes with the budget they left."""
        if self.resume_event.is_set():
            return True
        paused_at = time.time()
        try:
            while not self.resume_event.is_set():
                if self.cancelled or self.host.stop_requested:
                    return False
                await asyncio.sleep(0.2)
            return True
        finally:
            self.started += time.time() - paused_at

    async def _step(self, gpus: list[int] | None, n_trials: int) -> bool:
        if not await self._wait_while_paused():
            return False
        async with self._lock:
            if self._should_stop(n_trials):
                return False
            plan = await self._plan()
            if plan.params is not None and self.study is not None:
                self.study.enqueue_trial(plan.params, user_attrs={"aft_source": plan.source,
                                                                  "aft_rationale": plan.rationale})
            trial, choice = await self._ask()
            seed = self.space.seed() if self.space is not None else None
            if plan.seed is not None and seed is not None:
                choice.params[seed.name] = plan.seed
            self.current_kind = plan.kind
            self._in_flight += 1
        number = trial.number + 1 if trial is not None else 1
        started = time.time()
        memory = PeakMemory()
        watching = asyncio.get_running_loop().create_task(
            memory.follow(lambda: [runner.pid for runner in list(self.running.values())]))
        try:
            outcome, record, trial = await one_trial.run_trial(self, number, choice, gpus, trial)
        finally:
            self._in_flight -= 1
            watching.cancel()
        if trial is not None:
            self._tell(trial, outcome, record)
        experiment = plan.experiment(len(self.experiments) + 1, record, choice.params, started)
        if experiment.memory_gb is None:  # measured here, else (a cluster trial) on its node
            peak = (record.get("node") or {}).get("peak_rss_bytes")
            experiment.memory_gb = memory.gb if memory.gb is not None or not peak else round(peak / 1024 ** 3, 3)
        if not plan.description:
            experiment.description = f"{choice.source}: {fmt_params(choice.params)}"
        await conclude(self, plan, experiment, record)
        if plan.kind == Kind.BASELINE:
            self._fail_fast_after(record, choice)
        return True

    # -- choosing the next experiment -------------------------------------------------------------
    async def _plan(self) -> ExperimentPlan:
        if self.study is None:  # no objective yet: the person's configuration, run as-is
            return ExperimentPlan(Kind.BASELINE, "defaults", "baseline: your own configuration")
        from optuna.trial import TrialState

        waiting = self.study.get_trials(deepcopy=False, states=(TrialState.WAITING,))
        if waiting:  # queued before this step: the defaults of a fresh study, or an interrupted trial again
            source = waiting[0].user_attrs.get("aft_source") or "requeued"
            if source == "defaults":
                return ExperimentPlan(Kind.BASELINE, "defaults", "baseline: your own configuration")
            return ExperimentPlan(Kind.NUMERIC, source, "a re-run of a trial that was interrupted", arm="numeric")
        baselines = [e for e in self.experiments if e.kind == Kind.BASELINE.value]
        assert self.space is not None
        if self.rstate.noise is None and len(baselines) < BASELINE_RUNS and not any(
                e.status == Status.CRASH.value for e in baselines):
            seed = self._other_seed(len(baselines))
            return ExperimentPlan(Kind.BASELINE, "defaults",
                                  f"baseline run {len(baselines) + 1} of {BASELINE_RUNS} (measuring run-to-run noise"
                                  + (f" across seeds: seed {seed})" if seed is not None else ")"),
                                  params=self.space.defaults(), rationale="the baseline again, to measure the noise",
                                  seed=seed)
        if self.pending_confirm is not None:
            original, self.pending_confirm = self.pending_confirm, None
            confirms = sum(e.kind == Kind.CONFIRM.value for e in self.experiments)
            seed = self._other_seed(BASELINE_RUNS + confirms)
            return ExperimentPlan(Kind.CONFIRM, "confirm", f"confirming #{original.number}: {original.description}"
                                  + (f" (seed {seed})" if seed is not None else ""),
                                  params=self._within_space(original.params), confirms=original, seed=seed,
                                  rationale=f"a re-run of experiment {original.number}, whose gain was inside the noise")
        if self.pending_retune is not None:
            plan, self.pending_retune = self.pending_retune, None
            return plan
        taken = self.approvals.take()  # a change the person approved while experiments ran
        if taken is not None:
            change = await self.sources.refresh(taken[0])
            if change is not None:
                return await self._code_plan(taken[1], change)
        if self.pending_repair is not None:
            crashed, reason, attempt = self.pending_repair
            self.pending_repair = None
            change = await self.sources.repair(crashed, reason, attempt, waiting=self.approvals.titles())
            if change is not None:
                change.repairs = attempt
                plan = await self._propose(crashed.source, change)
                if plan is not None:
                    return plan
        arm = self.bandit.choose(await self.sources.available())
        if arm != "numeric" and not self.approvals.full:
            change = await self.sources.next_change(arm, waiting=self.approvals.titles(),
                                                    skip=self.approvals.recipes())
            if change is not None:
                plan = await self._propose(arm, change)
                if plan is not None:
                    return plan
        return ExperimentPlan(Kind.NUMERIC, "", "", arm="numeric")

    async def _propose(self, arm: str, change: CodeChange) -> ExperimentPlan | None:
        """Run the change now when approvals are automatic; else offer it and go on meanwhile."""
        if self.approvals.auto:
            return await self._code_plan(arm, change) if await self.approvals.approve_now(change) else None
        self.approvals.offer(change, arm)
        return None

    async def _code_plan(self, arm: str, change: CodeChange) -> ExperimentPlan:
        workspace = self.host.workspace
        parent = await asyncio.to_thread(workspace.head)
        number = len(self.experiments) + 1
        message = f"research {number}: {change.title}\n\n{change.rationale}"
        async with self.commit_lock:
            sha = await asyncio.to_thread(workspace.commit, message, change.files, change.removed)
        self.host.emit(ev.CommitMade(sha=sha, message=message.splitlines()[0], branch=workspace.branch))
        self.rebuild_space(change.knobs)
        params, raised = switched_on(self.space, self._within_space(self.rstate.best_params), change.run_with)
        extra = f" ({fmt_params(raised)}: at 0 the change would do nothing)" if raised else ""
        return ExperimentPlan(Kind.CODE, arm, change.title, params=params, change=change, code_commit=sha,
                              parent_commit=parent, arm=arm, repairs=change.repairs,
                              rationale=f"code change ({arm}): {change.title}, with the best parameters so far{extra}")

    def _within_space(self, params: dict[str, Any]) -> dict[str, Any]:
        """The best parameters carried over to the current space: new knobs at their defaults,
        values of knobs the code no longer has dropped, values outside a range clipped."""
        assert self.space is not None
        chosen = self.space.defaults()
        for dim in self.space.dims:
            if dim.name in params and dim.contains(params[dim.name]):
                chosen[dim.name] = params[dim.name]
        return chosen

    def _other_seed(self, runs_before: int) -> int | None:
        """The seed for a measurement run after `runs_before` others: the script's own seed plus that
        count. A seeded script run again with its own seed repeats itself exactly, so its noise would
        read zero and any lucky change would pass; the spread across seeds is the noise a change must
        beat. None when the script has no seed flag (or on the first run, which uses its own)."""
        seed = self.space.seed() if self.space is not None else None
        if seed is None or runs_before < 1:
            return None
        return int(seed.default) + runs_before

    def rebuild_space(self, knobs: list[str] | None = None) -> None:
        """The search space of the script as it is now (after a code change or its revert)."""
        self.state.space = None
        chosen = self.settings.params
        if chosen and knobs:
            self.settings.params = list(dict.fromkeys([*chosen, *knobs]))
        try:
            self.space = setup.build_space(self)
        finally:
            self.settings.params = chosen

    def stop_for(self, sentence: str) -> None:
        """Stop after this experiment, saying why (a crash streak)."""
        if not self.stop_sentence:
            self.stop_sentence = sentence
            self.end_reason = "stopped: experiments kept crashing"
            self.host.emit(ev.ErrorEvent(message=sentence))

    # -- memory --------------------------------------------------------------------------------------
    def _ensure_header(self) -> None:
        """The journal opens with the objective, written once it is known (trial 1 may choose it)."""
        if not self.store.journal():
            self.store.append_journal(journal.header(str(self.host.info.rel_script), self.metric or "the objective",
                                                     self.direction or "max", self.options.hours,
                                                     self.options.experiment_time))

    def record_experiment(self, experiment: Experiment) -> None:
        self._ensure_header()
        self.experiments.append(experiment)
        self.rstate.bandit = self.bandit.to_dict()
        self.rstate.metric, self.rstate.direction = self.metric, self.direction
        self.save()
        self.store.append_journal(journal.entry(experiment, self.metric or "value"))

    def set_noise(self) -> None:
        values = [e.value for e in self.experiments if e.kind == Kind.BASELINE.value and e.value is not None]
        if len(values) < BASELINE_RUNS and not repeated(values, self.rstate.baseline_signatures):
            return
        # Two runs that repeated each other (the objective and every loss, at every evaluation): the
        # script is deterministic, its noise is zero, a third run would say the same.
        self.rstate.noise = noise_of(values)
        self.rstate.baseline_values = list(values)
        mean = sum(values) / len(values)
        self.rstate.best_value = mean
        self.store.append_journal(journal.note(
            f"Run-to-run noise of the baseline: {self.rstate.noise:.3g} (standard deviation of {len(values)} runs, "
            f"mean {mean:.6g}); a change is kept only when it beats the best by more than twice that."))
        self.host.info_message(f"Baseline measured: {self.metric} = {mean:.6g} ± {self.rstate.noise:.3g} over "
                               f"{len(values)} runs.")

    def save(self) -> None:
        self.rstate.bandit = self.bandit.to_dict()
        self.store.save(self.experiments, self.rstate)

    def research_summary(self) -> dict[str, Any]:
        """The session in numbers: what --notify sends and the run's summary holds."""
        return words.summary(self)
