"""The tuning loop: ask, commit the choice, run, measure, tell, keep the best.

Ordering is what makes a SIGKILL harmless: a trial's result is written to outputs/ before
Optuna is told, and on resume any trial Optuna still holds as RUNNING is reconciled from
outputs/ (finished there: told now) or re-queued (it never finished: it runs again).
"""

from __future__ import annotations

import asyncio
import inspect
import json
import math
import os
import threading
import time
import warnings
from concurrent.futures import Future
from pathlib import Path
from typing import Any, Callable

from aft_tui.engine import events as ev
from aft_tui.engine import inflight
from aft_tui.engine.session_log import LOG_LINES_KEPT_PER_TRIAL
from aft_tui.engine.trial import TrialOutcome, TrialRun, pruning_step
from aft_tui.errors import UserError
from aft_tui.fsutil import json_safe, json_text
from aft_tui.runs import slots as slotting
from aft_tui.runs.invocation import baseline_args, build_args
from aft_tui.runs.objective import final_value
from aft_tui.runs.metrics import choose_objective, direction_for, normalise_name, rows_as_requested
from aft_tui.tuning.space import SearchSpace, build_space
from aft_tui.vcs.workspace import PARAMS_FILE
from aft_tui.engine.strategy import build_strategy
from aft_tui.tuning.base import SAMPLER_STRATEGIES, Choice
from aft_tui.tuning.strategies import make_pruner, make_sampler
from aft_tui.formatting import fmt_params

COUNTED = ("ok", "failed", "pruned", "timeout")
_RATIONALES = {
    "defaults": "the script's own defaults, run first as the baseline",
    "requeued": "a re-run of a trial that was interrupted before it finished",
}


class _TrialRef:
    """The Optuna trial of a record written after the session that ran it was killed."""

    def __init__(self, number: int) -> None:
        self.number = number


def _better(a: float, b: float | None, direction: str) -> bool:
    if b is None:
        return True
    return a > b if direction == "max" else a < b


def reported_steps(history: list[dict[str, Any]], metric: str) -> dict[int, float]:
    """{step: value} of the objective as a live trial reports it to the pruner (see TrialRun)."""
    out: dict[int, float] = {}
    last: int | None = None
    for i, row in enumerate(history, start=1):
        value = row.get(metric)
        if not (isinstance(value, (int, float)) and math.isfinite(value)):
            continue
        epoch = row.get("epoch")
        step = pruning_step(row.get("step"), epoch if isinstance(epoch, (int, float)) else None, len(out) + 1)
        if last is not None and step <= last:
            continue
        out[step] = float(value)
        last = step
    return out


def _first_lines(path: Path, n: int, width: int = 64 * 1024) -> list[str]:
    """The first `n` lines of a run's log, each at most `width` characters: one huge line is not
    read into memory whole (the session log keeps only the start of it anyway)."""
    lines: list[str] = []
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            while len(lines) < n:
                line = fh.readline(width)
                if not line:
                    break
                if not line.endswith("\n"):  # longer than width: skip the rest of it
                    rest = line
                    while rest and not rest.endswith("\n"):
                        rest = fh.readline(width)
                lines.append(line.rstrip("\n"))
    except OSError:
        return lines
    return lines


def _in_background(fn: Callable[..., Any], *args: Any) -> Future:
    """Run a git bookkeeping step in its own thread while the tuning loop goes on.

    A trial's tag and note are a few milliseconds of git each and nothing waits for them but
    the trial's end, so they overlap with the trial's run and with writing its results.
    """
    future: Future = Future()

    def work() -> None:
        try:
            future.set_result(fn(*args))
        except BaseException as exc:  # handed to whoever waits on the future
            future.set_exception(exc)

    threading.Thread(target=work, name="aft-git", daemon=True).start()
    return future


class Tuner:
    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.settings = engine.settings
        self.state = engine.state
        self.study: Any = None
        self.space: SearchSpace | None = None
        # The objective under the name a run reports it by (`--metric "train loss"` -> train_loss).
        requested = self.state.metric or self.settings.metric
        self.metric: str | None = normalise_name(requested) if requested else None
        self.direction: str | None = self.state.direction or self.settings.direction
        self.strategy = build_strategy(engine)
        self._running: dict[str, TrialRun] = {}
        self._inflight = 0
        self._started = 0.0
        self._end_reason = ""
        self._cancelled = False
        self._lock = asyncio.Lock()
        self._commit_lock = asyncio.Lock()  # parallel trials commit to one branch, one at a time
        from aft_tui.tuning.failures import FailFast

        self._fail_fast = FailFast()
        self._stop_sentence = ""  # set when failures stop the session early (see FailFast)

    # -- setup -------------------------------------------------------------------
    def build_space(self) -> SearchSpace:
        if self.state.space:
            return SearchSpace.from_dict(self.state.space)
        script = self.engine.work_script
        discovery = self.engine.discover()  # with the person's arguments: their values are the baseline
        config_flag = next((p.flag for p in discovery.params if p.extra.get("config_flag")), None)
        params = []
        for p in discovery.params:
            if p.source == "config_file":
                if p.extra.get("config_arg"):  # a config the person passes: its token gets the trial's copy
                    config = (script.parent / p.extra["config"]).resolve()
                    try:
                        rel = config.relative_to(self.engine.work_root.resolve())
                    except ValueError:
                        continue
                    p.extra.update(config_path=str(rel), config_flag=p.extra.get("config_arg_flag") or "",
                                   key=p.name)
                    params.append(p)
                    continue
                if not config_flag:
                    continue
                config = (script.parent / p.extra["config"]).resolve()
                try:
                    rel = config.relative_to(self.engine.work_root.resolve())
                except ValueError:
                    continue
                p.extra.update(config_path=str(rel), config_flag=config_flag, key=p.name)
                params.append(p)
            elif p.flag:
                params.append(p)
        if not params:
            raise UserError(
                f"{self.engine.info.rel_script} exposes no tunable parameter as a command-line flag; "
                f"run `aft pipeline {self.engine.info.rel_script}` to expose them, or add argparse flags."
            )
        space = build_space(params, self.settings.search, self.settings.params)
        if space.left_out:
            reasons = ", ".join(f"{name} ({why})" for name, why in space.left_out.items())
            self.engine.info_message(f"Left out of the search space: {reasons}.")
        if not space.dims:
            raise UserError("The search space is empty (every parameter is fixed or excluded); loosen [search] in aft.toml.")
        self.state.space = space.to_dict()
        self.state.save(self.engine.state_dir)
        return space

    def _open_study(self) -> None:
        from aft_tui.tuning.study import open_study

        assert self.space is not None and self.direction is not None
        sampler = make_sampler(self.settings.strategy, self.settings.seed, self.space)
        self.study = open_study(self.engine.state_dir, self.engine.session_id, self.direction, sampler,
                                make_pruner(self.settings.pruner))

    def _resolve_direction(self) -> None:
        if self.metric and not self.direction:
            self.direction = direction_for(self.metric)
            if self.direction is None:
                raise UserError(f"AFT cannot tell whether '{self.metric}' should go up or down; pass --direction max or --direction min.")
        if self.metric:
            self.state.metric, self.state.direction = self.metric, self.direction
            self.state.save(self.engine.state_dir)

    # -- bookkeeping from outputs/ (the durable record) -------------------------------
    def session_results(self) -> list[dict[str, Any]]:
        return self.engine.runs()

    def finished_count(self) -> int:
        return sum(1 for r in self.session_results() if r.get("status") in COUNTED)

    def best_result(self) -> dict[str, Any] | None:
        best = None
        for r in self.session_results():
            value = r.get("value")
            if r.get("status") == "ok" and isinstance(value, (int, float)) and math.isfinite(value):
                if best is None or _better(value, best["value"], self.direction or "max"):
                    best = r
        return best

    def _reconcile(self) -> None:
        """Bring the study in line with outputs/ after a crash or a Ctrl-C."""
        import optuna
        from optuna.trial import TrialState

        by_number = {r.get("optuna_trial"): r for r in self.session_results()}
        for trial in self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING, TrialState.WAITING)):
            if trial.state == TrialState.WAITING:
                continue
            record = by_number.get(trial.number)
            if record and record.get("status") in ("ok", "pruned", "failed", "timeout"):
                from aft_tui.tuning import failures

                failures.tell(self.study, trial, record["status"], record.get("value"), self.session_results(),
                              self.direction or "max", record.get("reason") or "")
            else:
                self.study.tell(trial.number, state=TrialState.FAIL)
                self.study.enqueue_trial(trial.params, user_attrs={"aft_source": "requeued"})
                self.engine.info_message(f"Trial {trial.number + 1} was interrupted before it finished; it will run again.")
        del optuna

    async def _recover_interrupted(self) -> None:
        """A session killed while trials ran left their in-flight files (see engine/inflight.py):
        stop a trial still running, so that it does not train beside its own re-run, and record
        each as cancelled, so that its commit and tag have a record. _reconcile re-queues it."""
        from aft_tui.runs.orphans import is_running

        engine = self.engine
        # Usually done when the session reopened (Engine.start); again here for a tuner started on
        # an engine that did not reopen one (the Python API driving several runs).
        for sentence in await asyncio.to_thread(inflight.stop_leftovers, engine.state_dir, engine.session_id):
            engine.info_message(sentence)
        for path, note in await asyncio.to_thread(inflight.left_behind, engine.state_dir, engine.session_id):
            run_id = note["run_id"]
            if is_running(note.get("aft_pid"), note.get("aft_started")):
                continue  # the AFT that runs it is alive (this session open twice): its trial, not a leftover
            if all(r.get("run_id") != run_id for r in self.session_results()) and note.get("commit"):
                stopped_at = note.get("stopped_at")
                self._record_interrupted(note, float(stopped_at) if isinstance(stopped_at, (int, float)) else None)
            inflight.clear(path)

    def _record_interrupted(self, note: dict[str, Any], ended: float | None) -> None:
        """The record of a trial whose session was killed while it ran: cancelled, like a trial
        stopped with Ctrl-C (recorded, not counted, its parameters run again). `ended`: when it
        was stopped, if it still ran."""
        started_at = float(note.get("started_at") or time.time())
        if ended is None:
            try:  # the last line it wrote is the last sign of life there is
                ended = self.engine.outputs.log_path(note["run_id"]).stat().st_mtime
            except OSError:
                ended = started_at
        choice = Choice(dict(note.get("params") or {}), str(note.get("rationale") or ""), str(note.get("strategy") or ""),
                        dict(note.get("extra") or {}))
        outcome = TrialOutcome(status="cancelled", duration=max(0.0, ended - started_at),
                               reason="AFT was killed while the trial ran; it runs again with the same parameters")
        optuna_number = note.get("optuna_trial")
        trial = _TrialRef(optuna_number) if isinstance(optuna_number, int) else None
        command = [str(c) for c in note.get("command") or []]
        record = self._record(note["run_id"], note["number"], choice, outcome, str(note["commit"]),
                              str(note.get("tag") or ""), command, started_at, trial)
        self._announce_finish(record)

    # -- the loop ------------------------------------------------------------------
    async def run(self, n_trials: int) -> dict[str, Any]:
        engine = self.engine
        if n_trials < 1:
            raise UserError("--trials must be at least 1.")
        self._n_trials = n_trials
        self.space = self.build_space()
        engine.info_message(f"Search space: {self.space.describe()}.")
        if self.settings.buffered_output:
            engine.info_message("Trial output is block-buffered (--buffered-output): logs and printed metrics arrive "
                                "in blocks of about 8 KB, so live curves and pruning lag unless the script writes "
                                "AFT_METRICS.")
        self._resolve_direction()
        from aft_tui.runs.orphans import start_time

        self._own_start = start_time(os.getpid())  # with the pid, names this AFT in its in-flight files
        await self._recover_interrupted()
        self._started = time.time()
        baseline = self._take_baseline()
        if self.metric:
            self._open_study()
            if len(self.study.trials) == 0:
                if baseline is None:
                    self.study.enqueue_trial(self.space.defaults(), user_attrs={"aft_source": "defaults"})
            else:
                baseline = None
                self._reconcile()
                self._rerun_failed_baseline()
        gpus = slotting.gpu_ids()
        slots = slotting.assign_slots(self.settings.parallel, self.settings.gpus_per_trial, gpus)
        self._omp = slotting.threads_per_trial(len(slots))
        if baseline is not None:
            await self._adopt_baseline(baseline)
        elif self.study is None:
            # Objective not named: trial 1 (defaults) runs first and tells us what the script reports.
            await self._first_trial_without_metric(slots[0])
        if not self._should_stop(n_trials):
            await asyncio.gather(*(self._worker(slot, n_trials) for slot in slots))
        if not self._end_reason:
            self._end_reason = "budget" if self.finished_count() >= n_trials else "stopped"
        summary = self._summary()
        self._write_metadata(summary)
        return summary

    def _should_stop(self, n_trials: int) -> bool:
        if self._stop_sentence:
            return True
        if self._cancelled or self.engine.stop_requested:
            self._end_reason = "cancelled"
            return True
        if self.finished_count() + self._inflight >= n_trials:
            return True
        s = self.settings
        if s.budget is not None and time.time() - self._started >= s.budget:
            self._end_reason = "time budget reached"
            return True
        exhausted = getattr(getattr(self.study, "sampler", None), "is_exhausted", None)
        if callable(exhausted) and exhausted(self.study):
            self._end_reason = "every point of the grid has run"
            return True
        from aft_tui.tuning.end_conditions import end_reason

        reason = end_reason(self.session_results(), self.direction or "max", target_value=s.target_value,
                            patience=s.patience, stagnation=s.stagnation)
        if reason:
            self._end_reason = reason
            return True
        return False

    async def _worker(self, gpus: list[int] | None, n_trials: int) -> None:
        while True:
            async with self._lock:
                if self._should_stop(n_trials):
                    return
                trial, choice = await self._ask()
                self._inflight += 1
            try:
                outcome, record = await self._run_trial(trial.number + 1, choice, gpus, trial)
            finally:
                self._inflight -= 1
            self._tell(trial, outcome, record)
            self._fail_fast_after(record, choice)

    async def _ask(self) -> tuple[Any, Choice]:
        from optuna.trial import TrialState

        history = self.session_results()
        choice = None
        # A queued trial (the defaults, a re-run) goes first; ask the strategy only when none waits,
        # so a proposal is never queued behind another and run one trial late.
        if self.space and not self.study.get_trials(deepcopy=False, states=(TrialState.WAITING,)):
            choice = self.strategy.propose(history, self.space)
            if inspect.isawaitable(choice):
                choice = await choice
        if choice is not None:
            self.study.enqueue_trial(choice.params, user_attrs={"aft_source": choice.source,
                                                                "aft_rationale": choice.rationale,
                                                                "aft_extra": choice.extra})
        trial = self.study.ask(self.space.distributions())
        source = trial.user_attrs.get("aft_source")
        if source:
            rationale = trial.user_attrs.get("aft_rationale") or (
                self._baseline_rationale() if source == "defaults" else _RATIONALES.get(source, ""))
            return trial, Choice(dict(trial.params), rationale, source, dict(trial.user_attrs.get("aft_extra") or {}))
        # Model-backed strategies fall back to the study's sampler (TPE); their note says why.
        sampler = self.settings.strategy if self.settings.strategy in SAMPLER_STRATEGIES else "tpe"
        note = getattr(self.strategy, "fallback_note", None)
        return trial, Choice(dict(trial.params), f"proposed by the {sampler} sampler" + (f" ({note})" if note else ""),
                             self.settings.strategy if sampler == self.settings.strategy else f"{self.settings.strategy}:{sampler}")

    def _tell(self, trial: Any, outcome: TrialOutcome, record: dict[str, Any]) -> None:
        from optuna.trial import TrialState

        if outcome.status == "cancelled":
            self.study.tell(trial, state=TrialState.FAIL)
            self.study.enqueue_trial(dict(trial.params), user_attrs={"aft_source": "requeued"})
            return
        from aft_tui.tuning import failures

        failures.tell(self.study, trial, outcome.status, outcome.value, self.session_results(),
                      self.direction or "max", outcome.reason)

    def _baseline_rationale(self) -> str:
        """Trial 1 is the person's own configuration: the script's defaults, with their arguments if any."""
        args = self.engine.script_args
        if not args:
            return _RATIONALES["defaults"]
        from aft_tui.target.script_args import describe

        return f"your own configuration (the script's defaults with {describe(args)}), run first as the baseline"

    async def _first_trial_without_metric(self, gpus: list[int] | None) -> None:
        assert self.space is not None
        choice = Choice(self.space.defaults(), self._baseline_rationale(), "defaults")
        outcome, record = await self._run_trial(1, choice, gpus, None)
        if record["status"] == "failed":
            # No objective can be chosen from a run that failed; say why it failed instead.
            self._announce_finish(record)
            self._fail_fast_after(record, choice)
            return
        self._settle_first_trial(choice, outcome, record)
        self._fail_fast_after(record, choice)

    def _settle_first_trial(self, choice: Choice, outcome: TrialOutcome, record: dict[str, Any]) -> None:
        """Judge trial 1, which ran before the objective was known or applied: choose the objective
        from what it reported when none was named, score it, and tell Optuna."""
        import optuna
        from optuna.trial import TrialState

        assert self.space is not None
        if self.metric is None:
            # Prefer what the script reports per evaluation over one-off prints.
            per_eval = [n for rows in (outcome.sources or {}).values() for row in rows for n in row
                        if n not in ("epoch", "step")]
            picked = choose_objective(list(dict.fromkeys(per_eval))) or choose_objective(outcome.metric_names)
            if picked is None:
                raise UserError(
                    "The script reported no metric AFT can optimise (no AFT_METRICS lines and no 'name: value' prints); "
                    "print your validation metric, e.g. print(f'val_loss: {val_loss}'), or pass --metric."
                )
            self.metric, self.direction = picked
            self.engine.info_message(
                f"No --metric given: optimising {self.metric} ({'higher' if self.direction == 'max' else 'lower'} is better), "
                f"chosen from what the script reports ({', '.join(outcome.metric_names)}). Pass --metric to choose another."
            )
            self._resolve_direction()
        record = self._rejudge(record, outcome)
        findings = self._findings(record["history"])
        if findings != record.get("findings"):  # said already when the objective was known before the run
            record["findings"] = findings
            if findings:
                self.engine.emit(ev.Analysis(run_id=record["run_id"], findings=findings))
        if self.study is None:
            self._open_study()
        state = TrialState.COMPLETE if record["status"] == "ok" else TrialState.FAIL
        # Its curve goes in as the intermediate values it would have reported live, so the pruner
        # measures runs and compares later trials with it as with any trial.
        frozen = optuna.trial.create_trial(
            params=choice.params, distributions=self.space.distributions(),
            value=record["value"] if state == TrialState.COMPLETE else None, state=state,
            intermediate_values=reported_steps(record["history"], self.metric or ""))
        self.study.add_trial(frozen)
        record["optuna_trial"] = 0
        self._diagnose(record, outcome)
        self._keep_if_best(record, outcome, None)
        self.engine.outputs.write_result(record)

    # -- the smoke run as trial 1 ---------------------------------------------------------
    def _take_baseline(self) -> Any:
        """The refactor's smoke run, when it is exactly the run trial 1 would be: the defaults
        (no extra flags), run to the end, on the commit the branch is still at, with the same
        interpreter, GPUs and threads, within the trial time limit, in a session with no trial yet."""
        engine = self.engine
        smoke, engine.baseline_run = engine.baseline_run, None
        if smoke is None or not smoke.ran_defaults or self.session_results():
            return None
        if self.settings.timeout and smoke.outcome.duration > self.settings.timeout:
            return None
        try:
            same = (engine.workspace.head() == smoke.commit
                    and list(smoke.command) == engine.interpreter.command(
                        str(engine.work_script), baseline_args(self.space, engine.script_args))
                    and all(d.flag for d in self.space.fixed_dims)
                    and smoke.slot == engine.first_slot())
        except (UserError, OSError):
            return None
        if (not same or not engine.outputs.run_dir(smoke.run_id).is_dir()
                or engine.outputs.run_dir(f"{engine.session_id}-t001").exists()):
            return None
        return smoke

    async def _adopt_baseline(self, smoke: Any) -> None:
        engine = self.engine
        assert self.space is not None
        run_id = f"{engine.session_id}-t001"
        outcome = smoke.outcome
        await asyncio.to_thread(engine.outputs.adopt_run, smoke.run_id, run_id)
        if outcome.artifact is not None:
            old_dir = engine.outputs.run_dir(smoke.run_id)
            try:
                outcome.artifact = engine.outputs.run_dir(run_id) / Path(outcome.artifact).relative_to(old_dir)
            except ValueError:
                pass  # saved outside the run folder: it stays where it is
        choice = Choice(self.space.defaults(), self._baseline_rationale() + "; the smoke run that proved the refactor "
                        f"({smoke.run_id}) ran exactly this, so it is kept instead of training again", "defaults")
        command = list(smoke.command)
        async with self._commit_lock:
            sha, tag = await asyncio.to_thread(self._commit_choice, 1, run_id, choice, command)
        engine.emit(ev.CommitMade(sha=sha, message=f"trial 1: {fmt_params(choice.params)}",
                                  branch=engine.workspace.branch, tag=tag))
        tagging = _in_background(engine.workspace.tag, tag, sha)
        engine.emit(ev.TrialStarted(run_id=run_id, number=1, params=choice.params, command=command, commit=sha,
                                    gpus=list(smoke.slot[0] or []) if smoke.slot else [], rationale=choice.rationale))
        # Its output was streamed under the smoke run's id; a replay shows trial 1's own first lines.
        head = await asyncio.to_thread(_first_lines, engine.outputs.log_path(run_id), LOG_LINES_KEPT_PER_TRIAL)
        if head:
            engine.emit(ev.TrialLog(run_id=run_id, lines=head))
        engine.info_message(f"Trial 1 is the smoke run {smoke.run_id}: it ran the defaults to the end "
                            f"({outcome.duration:.1f} s), so they are not trained a second time.")
        rows = next((rows for rows in ((outcome.sources or {}).get("file"), (outcome.sources or {}).get("stdout"))
                     if rows), outcome.history)
        for row in rows:
            step, epoch = row.get("step"), row.get("epoch")
            values = {k: v for k, v in row.items() if k not in ("step", "epoch")}
            engine.emit(ev.TrialMetric(run_id=run_id, step=step if isinstance(step, int) else None,
                                       epoch=epoch if isinstance(epoch, (int, float)) else None, values=values))
        try:
            tagging.result()
        except Exception as exc:  # a tag is a convenience; the commit and the params file carry the trial
            engine.info_message(f"Could not tag {sha[:8]} as {tag}: {exc}")
        started_at = time.time() - outcome.duration
        record = self._record(run_id, 1, choice, outcome, sha, tag, command, started_at, None)
        self._settle_first_trial(choice, outcome, record)
        self._fail_fast_after(record, choice)

    def _rejudge(self, record: dict[str, Any], outcome: TrialOutcome) -> dict[str, Any]:
        """Judge trial 1 again once the objective is known (it ran before the metric was chosen)."""
        sources = outcome.sources or {"file": outcome.history}
        history = next((rows for rows in (rows_as_requested(sources.get(kind, []), self.metric)
                                          for kind in ("file", "stdout", "results"))
                        if any(self.metric in row for row in rows)), [])
        values = [row[self.metric] for row in history if self.metric in row]
        record["metric"], record["direction"] = self.metric, self.direction
        record["history"] = history or record.get("history", [])
        if values:
            final = final_value(values, self.settings.metric_window)
            record["value"] = record["final"] = record["validation"] = final
            finite = [v for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
            record["best"] = (max if self.direction == "max" else min)(finite) if finite else None
            if record["status"] == "failed" and outcome.returncode == 0:
                record["status"], record["reason"] = "ok", ""
            if not (isinstance(final, (int, float)) and math.isfinite(final)):
                record["status"], record["reason"] = "failed", f"'{self.metric}' became {final} (diverged)"
        elif record["status"] == "ok":
            record["status"] = "failed"
            record["reason"] = f"the script never reported '{self.metric}'"
        self._announce_finish(record)
        return record

    # -- one trial -------------------------------------------------------------------
    async def _run_trial(self, number: int, choice: Choice, gpus: list[int] | None,
                         trial: Any) -> tuple[TrialOutcome, dict[str, Any]]:
        engine = self.engine
        assert self.space is not None
        run_id = f"{engine.session_id}-t{number:03d}"
        run_dir = engine.outputs.run_dir(run_id)
        run_dir.mkdir(parents=True, exist_ok=True)
        args = build_args(self.space, choice.params, run_dir, engine.work_root, engine.script_args)
        command = engine.interpreter.command(str(engine.work_script), args)
        async with self._commit_lock:
            sha, tag = await asyncio.to_thread(self._commit_choice, number, run_id, choice, command)
        # Emitted here, on the loop's thread: subscribers and the session log are not thread-safe.
        engine.emit(ev.CommitMade(sha=sha, message=f"trial {number}: {fmt_params(choice.params)}",
                                  branch=engine.workspace.branch, tag=tag))
        tagging = _in_background(engine.workspace.tag, tag, sha)
        timeout = self.settings.timeout
        if self.settings.budget is not None:
            left = max(1.0, self.settings.budget - (time.time() - self._started))
            timeout = min(timeout, left) if timeout else left
        spec = engine.trial_spec(run_id, number, choice.params, command, timeout=timeout, gpus=gpus,
                                 omp_threads=getattr(self, "_omp", 1))
        started_at = time.time()
        # Until its record is written, the trial is in flight: a resume after a crash finds it here.
        spec.process_note = {"session": engine.session_id, "run_id": run_id, "number": number,
                             "optuna_trial": trial.number if trial is not None else None,
                             "params": choice.params, "strategy": choice.source, "rationale": choice.rationale,
                             "extra": choice.extra or {}, "commit": sha, "tag": tag, "command": command,
                             "started_at": started_at,
                             "aft_pid": os.getpid(), "aft_started": getattr(self, "_own_start", None)}
        spec.process_file = inflight.mark(engine.state_dir, spec.process_note)
        engine.emit(ev.TrialStarted(run_id=run_id, number=number, params=choice.params, command=command, commit=sha,
                                    gpus=gpus or [], rationale=choice.rationale))
        runner = TrialRun(spec, engine.emit, self.metric, self.direction,
                          self._prune_check(trial) if trial is not None else None)
        self._running[run_id] = runner
        try:
            if self._cancelled or engine.stop_requested:
                await runner.cancel("cancelled")
            outcome = await runner.run()
        finally:
            self._running.pop(run_id, None)
        if (outcome.status == "pruned" and outcome.returncode == 0 and isinstance(outcome.value, (int, float))
                and math.isfinite(outcome.value)):
            # The stop reached a script that had just finished on its own (pruned at its last
            # evaluation): the run is complete, so its result counts.
            outcome.status, outcome.reason, outcome.pruned_at = "ok", "", None
            try:
                tagging.result()
            except Exception as exc:  # a tag is a convenience; the commit and the params file carry the trial
                engine.info_message(f"Could not tag {sha[:8]} as {tag}: {exc}")
        record = self._record(run_id, number, choice, outcome, sha, tag, command, started_at, trial)
        inflight.clear(spec.process_file)
        if trial is not None:
            self._announce_finish(record)
        return outcome, record

    def _commit_choice(self, number: int, run_id: str, choice: Choice, command: list[str]) -> tuple[str, str]:
        ws = self.engine.workspace
        payload = {"session": self.engine.session_id, "trial": number, "run_id": run_id, "params": choice.params,
                   "fixed": self.space.fixed if self.space else {}, "strategy": choice.source,
                   "rationale": choice.rationale, "command": command[1:] if len(command) > 1 else command,
                   "script_args": self.engine.script_args}
        message = f"trial {number}: {fmt_params(choice.params)}\n\nChosen by: {choice.source}. {choice.rationale}"
        if self.engine.script_args:
            from aft_tui.target.script_args import describe

            message += f"\n\nScript arguments: {describe(self.engine.script_args)}"
        sha = ws.commit(message, files={PARAMS_FILE: json_text(payload) + "\n"})
        tag = ws.trial_tag(f"{number:03d}")  # made while the trial runs
        return sha, tag

    def _prune_check(self, trial: Any):
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

    def _record(self, run_id: str, number: int, choice: Choice, outcome: TrialOutcome, sha: str, tag: str,
                command: list[str], started_at: float, trial: Any) -> dict[str, Any]:
        engine = self.engine
        findings = self._findings(outcome.history)
        model_path = str(outcome.artifact) if outcome.artifact else None
        record: dict[str, Any] = {
            "run_id": run_id, "session": engine.session_id, "number": number,
            "optuna_trial": trial.number if trial is not None else 0,
            "status": outcome.status, "reason": outcome.reason,
            "params": choice.params, "fixed": dict(self.space.fixed) if self.space else {},
            "metric": self.metric, "direction": self.direction,
            "value": outcome.value, "final": outcome.value, "best": outcome.best, "best_epoch": outcome.best_epoch,
            "history": outcome.history, "metrics_reported": outcome.metric_names,
            "duration": round(outcome.duration, 3), "started_at": started_at, "finished_at": time.time(),
            "commit": sha, "tag": tag, "command": command, "returncode": outcome.returncode,
            "script_args": engine.script_args,
            "strategy": choice.source, "rationale": choice.rationale,
            "pruned_at": outcome.pruned_at, "findings": findings, "strategy_info": choice.extra or {},
            "log": str(engine.outputs.log_path(run_id)),
            "model_path": model_path,
            # The original AutoFineTuner's result contract:
            "model_pt_path": model_path, "validation": outcome.value,
        }
        if outcome.script_result:
            record["script_result"] = outcome.script_result
        self._diagnose(record, outcome)
        previous_best = self.best_result()
        noting = _in_background(engine.workspace.add_note, sha, json_safe({
            k: record[k] for k in ("run_id", "status", "reason", "metric", "value", "best", "duration", "params",
                                   "script_args")}))
        engine.outputs.write_result(record)
        try:
            noting.result()
        except Exception as exc:  # a note is a convenience; the result is already on disk
            engine.info_message(f"Could not attach the result note to {sha[:8]}: {exc}")
        if findings:
            engine.emit(ev.Analysis(run_id=run_id, findings=findings))
        self._keep_if_best(record, outcome, previous_best)
        return record

    def _findings(self, history: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not (self.metric and history):
            return []
        try:
            from aft_tui.tuning.analyzer import analyze_trial

            return [f.to_dict() for f in analyze_trial(history, self.metric, self.direction or "max")]
        except Exception as exc:  # analysis is advice; it must never lose a result
            return [{"code": "analysis_failed", "sentence": f"Curve analysis failed: {exc}"}]

    def _keep_if_best(self, record: dict[str, Any], outcome: TrialOutcome, previous_best: dict[str, Any] | None) -> None:
        """A new best: copy its model to outputs/ and say so."""
        engine = self.engine
        value = record["value"]
        if not (record["status"] == "ok" and isinstance(value, (int, float)) and math.isfinite(value)
                and (previous_best is None or _better(value, previous_best["value"], self.direction or "max"))):
            return
        kept = None
        if outcome.artifact is not None:
            try:  # outputs/model* is shared by the project's sessions: the best of them all (see keep_if_best)
                where = engine.outputs.keep_if_best(record, outcome.artifact)
                kept = str(where) if where is not None else None
            except OSError as exc:
                engine.info_message(f"Could not copy the best model ({exc}); it stays at {outcome.artifact}.")
        engine.emit(ev.BestUpdated(run_id=record["run_id"], value=value, params=record["params"], metric=self.metric or ""))
        record["best_model"] = kept

    def _announce_finish(self, record: dict[str, Any]) -> None:
        engine = self.engine
        engine.emit(ev.TrialFinished(run_id=record["run_id"], number=record["number"], status=record["status"],
                                     value=record["value"], reason=record["reason"], duration=record["duration"],
                                     result={k: record.get(k) for k in ("params", "metric", "direction", "best", "commit",
                                                                         "model_path", "pruned_at")}))
        best = self.best_result()
        results = [r for r in self.session_results() if r.get("status") in COUNTED]
        done = len(results)
        total = getattr(self, "_n_trials", self.settings.trials)
        eta = None
        if results and done < total:
            mean = sum(r.get("duration") or 0.0 for r in results) / done
            eta = mean * (total - done) / max(1, self.settings.parallel)
        budget_left = None
        if self.settings.budget is not None:
            budget_left = max(0.0, self.settings.budget - (time.time() - self._started))
        engine.emit(ev.TuneProgress(done=done, total=total, best=best["value"] if best else None,
                                    metric=self.metric or "", eta_s=eta, budget_left_s=budget_left))

    # -- failing fast ------------------------------------------------------------------------
    def _diagnose(self, record: dict[str, Any], outcome: TrialOutcome) -> None:
        """Put the one-sentence diagnosis of a failed trial in its record (what broke, the fix)."""
        from aft_tui.runs.diagnosis import RunContext, diagnose_outcome

        if record["status"] != "failed":
            record.pop("diagnosis", None)
            return
        engine = self.engine
        context = RunContext(cwd=engine.trial_cwd, person_cwd=engine.info.project / engine.info.rel_cwd,
                             interpreter=engine.interpreter, script=str(engine.info.rel_script),
                             log_path=Path(record["log"]))
        outcome.reason = record["reason"]  # a rejudged trial 1 carries its reason in the record
        record["diagnosis"] = diagnose_outcome(outcome, context, params=record["params"],
                                               metric=record.get("metric")).to_dict()

    def _rerun_failed_baseline(self) -> None:
        """A resumed session whose own configuration failed (and so stopped) runs it again first:
        the person has most likely fixed what the stop sentence named."""
        from optuna.trial import TrialState

        results = self.session_results()
        baselines = [r for r in results if r.get("strategy") == "defaults"]
        if (not baselines or baselines[-1].get("status") != "failed" or any(r.get("status") == "ok" for r in results)
                or self.study.get_trials(deepcopy=False, states=(TrialState.WAITING,)) or self.space is None):
            return
        self.study.enqueue_trial(self.space.defaults(), user_attrs={"aft_source": "defaults"})
        self.engine.info_message("The script's own configuration failed last time; it runs again first.")

    def _fail_fast_after(self, record: dict[str, Any], choice: Choice) -> None:
        """Stop the session when trial 1 (the person's own configuration) failed, or when the
        same failure came back several times in a row: the rest of the budget would go the same way."""
        from aft_tui.runs.diagnosis import Diagnosis

        found = record.get("diagnosis")
        diagnosis = Diagnosis(found["kind"], found["sentence"], found.get("detail", "")) if found else None
        baseline = choice.source == "defaults" or (
            choice.source == "requeued" and self.space is not None and choice.params == self.space.defaults())
        sentence = self._fail_fast.observe(record["status"], diagnosis, baseline)
        if sentence and not self._stop_sentence:
            self._stop_sentence = sentence
            self._end_reason = ("stopped: trial 1 (the script's own configuration) failed" if baseline
                                else "stopped: the same failure repeated")
            self.engine.emit(ev.ErrorEvent(message=sentence, detail=f"log: {record.get('log')}"))

    def cancel_running(self) -> None:
        self._cancelled = True
        loop = asyncio.get_event_loop()
        for runner in list(self._running.values()):
            loop.create_task(runner.cancel("cancelled"))

    # -- summary ------------------------------------------------------------------------
    def _summary(self) -> dict[str, Any]:
        results = self.session_results()
        best = self.best_result()
        defaults = next((r for r in results if r.get("number") == 1), None)
        return {
            "session": self.engine.session_id,
            "branch": self.engine.workspace.branch,
            "metric": self.metric, "direction": self.direction,
            "trials": len([r for r in results if r.get("status") in COUNTED]),
            "statuses": {s: sum(1 for r in results if r.get("status") == s) for s in {r.get("status") for r in results}},
            "best": best,
            "defaults_value": defaults.get("value") if defaults else None,
            "end_reason": self._end_reason,
            "stopped_by_failure": self._stop_sentence or None,
        }

    def _write_metadata(self, summary: dict[str, Any]) -> None:
        best = summary["best"]
        how = "no trial finished successfully"
        if best is not None:
            how = (f"trial {best['number']} ({best['run_id']}) had the {'highest' if self.direction == 'max' else 'lowest'} "
                   f"{self.metric} = {best['value']:.6g} of {summary['trials']} trials; its parameters were chosen by "
                   f"{best.get('strategy')}: {best.get('rationale')}")
        metadata = {
            "session": self.engine.session_id, "target": self.engine.state.target, "project": self.engine.state.project,
            "branch": summary["branch"], "metric": self.metric, "direction": self.direction,
            "search_space": self.space.to_dict() if self.space else None, "strategy": self.settings.strategy,
            "pruner": self.settings.pruner, "seed": self.settings.seed, "script_args": self.engine.script_args,
            "trials": summary["trials"], "statuses": summary["statuses"], "end_reason": summary["end_reason"],
            "defaults_value": summary["defaults_value"],
            "best_params": best["params"] if best else None, "best_value": best["value"] if best else None,
            "best_run": best["run_id"] if best else None, "best_commit": best["commit"] if best else None,
            "best_model": self._best_model_path(), "how_chosen": how,
        }
        self.engine.outputs.write_metadata(metadata)

    def _best_model_path(self) -> str | None:
        """The model AFT kept last (outputs/model.<ext> or outputs/model/; the newest if several)."""
        root = self.engine.outputs.root
        kept = []
        for candidate in root.glob("model*"):
            if candidate.name.startswith(".") or candidate.name.endswith(".tmp"):
                continue
            try:
                kept.append((candidate.stat().st_mtime_ns, str(candidate)))
            except OSError:
                continue
        return max(kept)[1] if kept else None
