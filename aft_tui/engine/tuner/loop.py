"""The tuning loop: ask, run the trial (one_trial.py), tell, keep going until an end condition.

Every trial takes the same path whoever proposed it (the sampler, a rule, the LLM, the queued
defaults, the smoke run kept as trial 1). The first trial runs alone when it decides something
the others need: the objective, when none was named (the study opens only then), or whether the
smoke run is kept as trial 1.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import time
import warnings
from typing import Any

from aft_tui.engine import events as ev
from aft_tui.engine.judge import TrialOutcome
from aft_tui.engine.tuner import one_trial, setup, summary
from aft_tui.engine.tuner.context import TunerHost
from aft_tui.engine.tuner.ledger import Ledger
from aft_tui.errors import UserError
from aft_tui.runs import slots as slotting
from aft_tui.runs.metrics import normalise_name
from aft_tui.tuning.space import SearchSpace
from aft_tui.engine.strategy import build_strategy
from aft_tui.tuning.base import SAMPLER_STRATEGIES, Choice

_RATIONALES = {
    "defaults": "the script's own defaults, run first as the baseline",
    "requeued": "a re-run of a trial that was interrupted before it finished",
}


class Tuner:
    seeds_vary = False  # research measures its noise across seeds; tuning runs the script's own

    def __init__(self, host: TunerHost) -> None:
        self.host = host
        self.settings = host.settings
        self.state = host.state
        self.ledger = Ledger(host.outputs, host.session_id)
        self.study: Any = None
        self.space: SearchSpace | None = None
        # The objective under the name a run reports it by (`--metric "train loss"` -> train_loss).
        requested = self.state.metric or self.settings.metric
        self.metric: str | None = normalise_name(requested) if requested else None
        self.direction: str | None = self.state.direction or self.settings.direction
        self.strategy = build_strategy(host)
        self.running: dict[str, Any] = {}  # run id -> TrialRun, to cancel them
        self._in_flight = 0
        self.n_trials = self.settings.trials
        self.started = 0.0
        self.end_reason = ""
        self.cancelled = False
        self.omp_threads = 1
        self.slots = 1  # trials at once (GPU slots here, or what the cluster holds)
        self.own_start: float | None = None  # with the pid, names this AFT in its in-flight files
        self._baseline: Any = None  # the smoke run kept as trial 1, until trial 1 takes it
        self._lock = asyncio.Lock()
        self.commit_lock = asyncio.Lock()  # parallel trials commit to one branch, one at a time
        from aft_tui.tuning.failures import FailFast

        self._fail_fast = FailFast()
        self.stop_sentence = ""  # set when failures stop the session early (see FailFast)
        self.said_findings: set[str] = set()  # analysis sentences already shown (records keep them all)

    @property
    def in_flight(self) -> int:
        """How many trials are running now (0 between tuning runs)."""
        return self._in_flight

    # -- what the parts share -------------------------------------------------------
    def session_results(self) -> list[dict[str, Any]]:
        return self.ledger.records()

    def finished_count(self) -> int:
        return self.ledger.finished_count()

    def best_result(self) -> dict[str, Any] | None:
        return self.ledger.best(self.direction)

    def take_baseline(self) -> Any:
        smoke, self._baseline = self._baseline, None
        return smoke

    def trial_timeout(self) -> float | None:
        timeout = self.settings.timeout
        if self.settings.budget is not None:
            left = max(1.0, self.settings.budget - (time.time() - self.started))
            timeout = min(timeout, left) if timeout else left
        return timeout

    # -- the loop ------------------------------------------------------------------
    @property
    def count_limit(self) -> int:
        return self.n_trials

    async def run(self, n_trials: int) -> dict[str, Any]:
        host = self.host
        if n_trials < 1:
            raise UserError("--trials must be at least 1.")
        self.n_trials = n_trials
        self.space = setup.build_space(self)
        host.info_message(f"Search space: {self.space.describe()}.")
        if self.settings.buffered_output:
            host.info_message("Trial output is block-buffered (--buffered-output): logs and printed metrics arrive "
                              "in blocks of about 8 KB, so live curves and pruning lag unless the script writes "
                              "AFT_METRICS.")
        setup.resolve_direction(self)
        from aft_tui.runs.orphans import start_time

        self.own_start = start_time(os.getpid())
        await setup.recover_interrupted(self)
        self.started = time.time()
        # The status bar counts against this run's total from its first trial, not the setting it had.
        best = self.best_result()
        host.emit(ev.TuneProgress(done=len(self.ledger.counted()), total=self.count_limit,
                                  best=best["value"] if best else None, metric=self.metric or "",
                                  budget_left_s=self.settings.budget))
        self._baseline = setup.usable_baseline(self)
        if self.metric:
            setup.open_study(self)
            if len(self.study.trials) == 0:
                self.study.enqueue_trial(self.space.defaults(), user_attrs={"aft_source": "defaults"})
            else:
                self._baseline = None
                setup.reconcile(self)
                setup.rerun_failed_baseline(self)
        plan = await asyncio.to_thread(host.connect_cluster) if self.settings.cluster else None
        if plan is not None:  # the cluster places the trials: one slot per trial it holds at once
            slots: list[list[int] | None] = [None] * (self.settings.parallel or plan.capacity)
            self.omp_threads = max(1, int(plan.resources.cpus))
            host.info_message(f"Trials run on {plan.describe()}; {len(slots)} at a time.")
        else:
            slots = slotting.assign_slots(self.settings.parallel or 1, self.settings.gpus_per_trial or 1,
                                          slotting.gpu_ids())
            self.omp_threads = slotting.threads_per_trial(len(slots))
        if self.study is None or self._baseline is not None:
            await self._step(slots[0], n_trials)  # alone: it decides the objective, or is the smoke run
        self.slots = len(slots)
        await asyncio.gather(*(self._worker(slot, n_trials) for slot in slots))
        if not self.end_reason:
            self.end_reason = f"{n_trials} trials run" if self.finished_count() >= n_trials else "stopped"
        result = summary.summarise(self)
        summary.write_metadata(self, result)
        return result

    def _stopped(self) -> bool:
        """Stopped by failures (fail-fast) or by the person (Ctrl-C, /stop)."""
        if self.stop_sentence:
            return True
        if self.cancelled or self.host.stop_requested:
            self.end_reason = "cancelled"
            return True
        return False

    def _should_stop(self, n_trials: int) -> bool:
        if self._stopped():
            return True
        if self.finished_count() + self._in_flight >= n_trials:
            return True
        s = self.settings
        if s.budget is not None and time.time() - self.started >= s.budget:
            self.end_reason = "time budget reached"
            return True
        exhausted = getattr(getattr(self.study, "sampler", None), "is_exhausted", None)
        if callable(exhausted) and exhausted(self.study):
            self.end_reason = "every point of the grid has run"
            return True
        from aft_tui.tuning.end_conditions import end_reason

        reason = end_reason(self.session_results(), self.direction or "max", target_value=s.target_value,
                            patience=s.patience, stagnation=s.stagnation)
        if reason:
            self.end_reason = reason
            return True
        return False

    async def _worker(self, gpus: list[int] | None, n_trials: int) -> None:
        while await self._step(gpus, n_trials):
            pass

    async def _step(self, gpus: list[int] | None, n_trials: int) -> bool:
        """Ask for one trial, run it, tell it; False once the session should stop."""
        async with self._lock:
            if self._should_stop(n_trials):
                return False
            trial, choice = await self._ask()
            self._in_flight += 1
        number = trial.number + 1 if trial is not None else 1
        try:
            outcome, record, trial = await one_trial.run_trial(self, number, choice, gpus, trial)
        finally:
            self._in_flight -= 1
        if trial is not None:
            self._tell(trial, outcome, record)
        self._fail_fast_after(record, choice)
        return True

    async def _ask(self) -> tuple[Any, Choice]:
        assert self.space is not None
        if self.study is None:  # no objective yet: the person's own configuration runs first
            return None, Choice(self.space.defaults(), self.baseline_rationale(), "defaults")
        from optuna.trial import TrialState

        history = self.session_results()
        choice = None
        # A queued trial (the defaults, a re-run) goes first; ask the strategy only when none waits,
        # so a proposal is never queued behind another and run one trial late.
        if not self.study.get_trials(deepcopy=False, states=(TrialState.WAITING,)):
            choice = self.strategy.propose(history, self.space)
            if inspect.isawaitable(choice):
                choice = await choice
        if choice is not None:
            self.study.enqueue_trial(choice.params, user_attrs={"aft_source": choice.source,
                                                                "aft_rationale": choice.rationale,
                                                                "aft_extra": choice.extra})
        trial = self.study.ask(self.space.distributions())
        return trial, self._choice_of(trial)

    def _choice_of(self, trial: Any) -> Choice:
        source = trial.user_attrs.get("aft_source")
        if source:
            rationale = trial.user_attrs.get("aft_rationale") or (
                self.baseline_rationale() if source == "defaults" else _RATIONALES.get(source, ""))
            return Choice(dict(trial.params), rationale, source, dict(trial.user_attrs.get("aft_extra") or {}))
        # Model-backed strategies fall back to the study's sampler (TPE); their note says why.
        sampler = self.settings.strategy if self.settings.strategy in SAMPLER_STRATEGIES else "tpe"
        note = getattr(self.strategy, "fallback_note", None)
        return Choice(dict(trial.params), f"proposed by the {sampler} sampler" + (f" ({note})" if note else ""),
                      self.settings.strategy if sampler == self.settings.strategy else f"{self.settings.strategy}:{sampler}")

    def late_trial(self, choice: Choice) -> Any:
        """The Optuna trial of a trial that ran before the study existed (trial 1 without an
        objective), asked for now with the parameters it ran."""
        assert self.space is not None
        if self.study is None:
            setup.open_study(self)
        self.study.enqueue_trial(choice.params, user_attrs={"aft_source": choice.source,
                                                            "aft_rationale": choice.rationale})
        return self.study.ask(self.space.distributions())

    def _tell(self, trial: Any, outcome: TrialOutcome, record: dict[str, Any]) -> None:
        from optuna.trial import TrialState

        if outcome.status == "cancelled":
            self.study.tell(trial, state=TrialState.FAIL)
            self.study.enqueue_trial(dict(trial.params), user_attrs={"aft_source": "requeued"})
            return
        from aft_tui.tuning import failures

        failures.tell(self.study, trial, outcome.status, outcome.value, self.session_results(),
                      self.direction or "max", outcome.reason)

    def baseline_rationale(self) -> str:
        """Trial 1 is the person's own configuration: the script's defaults, with their arguments if any."""
        args = self.host.script_args
        if not args:
            return _RATIONALES["defaults"]
        from aft_tui.target.script_args import describe

        return f"your own configuration (the script's defaults with {describe(args)}), run first as the baseline"

    def choose_objective(self, outcome: TrialOutcome) -> None:
        """No --metric: optimise what trial 1 reported, per evaluation before one-off prints."""
        from aft_tui.runs.metrics import choose_objective

        per_eval = [n for rows in (outcome.sources or {}).values() for row in rows for n in row
                    if n not in ("epoch", "step")]
        picked = choose_objective(list(dict.fromkeys(per_eval))) or choose_objective(outcome.metric_names)
        if picked is None:
            raise UserError(
                "The script reported no metric AFT can optimise (no AFT_METRICS lines and no 'name: value' prints); "
                "print your validation metric, e.g. print(f'val_loss: {val_loss}'), or pass --metric."
            )
        self.metric, self.direction = picked
        self.host.info_message(
            f"No --metric given: optimising {self.metric} ({'higher' if self.direction == 'max' else 'lower'} is better), "
            f"chosen from what the script reports ({', '.join(outcome.metric_names)}). Pass --metric to choose another."
        )
        setup.resolve_direction(self)

    def prune_check(self, trial: Any):
        def check(value: float, step: int) -> str | None:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    trial.report(value, step)
                    prune = trial.should_prune()
            except Exception:  # optuna refuses duplicate steps etc.; never let that kill a trial
                return None
            if not prune:
                return None
            from aft_tui.tuning.pruning import explain

            return explain(self.study, trial, self.settings.pruner, self.metric or "the objective", value, step)
        return check

    # -- what a record says ----------------------------------------------------------------
    def findings(self, history: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return summary.findings(self, history)

    def diagnose(self, record: Any, outcome: TrialOutcome) -> dict[str, Any]:
        return summary.diagnose(self, record, outcome)

    def keep_if_best(self, record: dict[str, Any], outcome: TrialOutcome, previous_best: dict[str, Any] | None) -> None:
        summary.keep_if_best(self, record, outcome, previous_best)

    def announce_finish(self, record: dict[str, Any]) -> None:
        summary.announce_finish(self, record)

    def _fail_fast_after(self, record: dict[str, Any], choice: Choice) -> None:
        """Stop the session when trial 1 (the person's own configuration) failed, or when the
        same failure came back several times in a row: the rest of the budget would go the same way."""
        from aft_tui.runs.diagnosis import Diagnosis

        found = record.get("diagnosis")
        diagnosis = Diagnosis(found["kind"], found["sentence"], found.get("detail", "")) if found else None
        baseline = choice.source == "defaults" or (
            choice.source == "requeued" and self.space is not None and choice.params == self.space.defaults())
        sentence = self._fail_fast.observe(record["status"], diagnosis, baseline)
        if sentence and not self.stop_sentence:
            self.stop_sentence = sentence
            self.end_reason = ("stopped: trial 1 (the script's own configuration) failed" if baseline
                               else "stopped: the same failure repeated")
            self.host.emit(ev.ErrorEvent(message=sentence, detail=f"log: {record.get('log')}"))

    def cancel_running(self) -> None:
        self.cancelled = True
        loop = asyncio.get_event_loop()
        for runner in list(self.running.values()):
            loop.create_task(runner.cancel("cancelled"))
