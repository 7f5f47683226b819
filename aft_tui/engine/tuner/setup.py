"""Setting a tuning run up: the search space, the objective's direction, the Optuna study, and
bringing a resumed session in line with what outputs/ recorded (the durable record).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aft_tui.engine import inflight
from aft_tui.engine.judge import TrialOutcome
from aft_tui.engine.trial_record import COUNTED
from aft_tui.engine.tuner.context import TuningRun
from aft_tui.errors import UserError
from aft_tui.runs.invocation import baseline_args
from aft_tui.runs.metrics import direction_for
from aft_tui.tuning.space import SearchSpace, build_space as space_from, with_seed
from aft_tui.tuning.base import Choice
from aft_tui.tuning.strategies import make_pruner, make_sampler



class _TrialRef:
    """The Optuna trial of a record written after the session that ran it was killed."""

    def __init__(self, number: int) -> None:
        self.number = number


def build_space(tuner: TuningRun) -> SearchSpace:
    host, state = tuner.host, tuner.state
    if state.space:
        return SearchSpace.from_dict(state.space)
    script = host.work_script
    discovery = host.discover()  # with the person's arguments: their values are the baseline
    config_flag = next((p.flag for p in discovery.params if p.extra.get("config_flag")), None)
    params = []
    for p in discovery.params:
        if p.source == "config_file":
            if p.extra.get("config_arg"):  # a config the person passes: its token gets the trial's copy
                config = (script.parent / p.extra["config"]).resolve()
                try:
                    rel = config.relative_to(host.work_root.resolve())
                except ValueError:
                    continue
                p.extra.update(config_path=str(rel), config_flag=p.extra.get("config_arg_flag") or "", key=p.name)
                params.append(p)
                continue
            if not config_flag:
                continue
            config = (script.parent / p.extra["config"]).resolve()
            try:
                rel = config.relative_to(host.work_root.resolve())
            except ValueError:
                continue
            p.extra.update(config_path=str(rel), config_flag=config_flag, key=p.name)
            params.append(p)
        elif p.flag:
            params.append(p)
    if not params:
        problem = f"{host.info.rel_script} exposes no tunable parameter as a command-line flag"
        raise UserError(
            f"{problem}; run `aft pipeline {host.info.rel_script}` to expose them, or add argparse flags.",
            in_chat=f"{problem}; type /pipeline to expose them, or add argparse flags.",
        )
    space = space_from(params, tuner.settings.search, tuner.settings.params)
    if tuner.seeds_vary:
        space = with_seed(space, params)
    if space.left_out:
        reasons = ", ".join(f"{name} ({why})" for name, why in space.left_out.items())
        host.info_message(f"Left out of the search space: {reasons}.")
    if not space.dims:
        raise UserError("The search space is empty (every parameter is fixed or excluded); loosen [search] in aft.toml.")
    state.space = space.to_dict()
    state.save(host.state_dir)
    return space


def open_study(tuner: TuningRun) -> None:
    from aft_tui.tuning.study import open_study as open_journal_study

    assert tuner.space is not None and tuner.direction is not None
    sampler = make_sampler(tuner.settings.strategy, tuner.settings.seed, tuner.space)
    tuner.study = open_journal_study(tuner.host.state_dir, tuner.host.session_id, tuner.direction, sampler,
                                     make_pruner(tuner.settings.pruner))


def resolve_direction(tuner: TuningRun) -> None:
    if tuner.metric and not tuner.direction:
        tuner.direction = direction_for(tuner.metric)
        if tuner.direction is None:
            raise UserError(f"AFT cannot tell whether '{tuner.metric}' should go up or down; pass --direction max or --direction min.")
    if tuner.metric:
        tuner.state.metric, tuner.state.direction = tuner.metric, tuner.direction
        tuner.state.save(tuner.host.state_dir)


def reconcile(tuner: TuningRun) -> None:
    """Bring the study in line with outputs/ after a crash or a Ctrl-C."""
    from optuna.trial import TrialState

    results = tuner.session_results()
    by_number = {r.get("optuna_trial"): r for r in results}
    for trial in tuner.study.get_trials(deepcopy=False, states=(TrialState.RUNNING, TrialState.WAITING)):
        if trial.state == TrialState.WAITING:
            continue
        record = by_number.get(trial.number)
        if record and record.get("status") in COUNTED:
            from aft_tui.tuning import failures

            failures.tell(tuner.study, trial, record["status"], record.get("value"), tuner.session_results(),
                          tuner.direction or "max", record.get("reason") or "")
        else:
            tuner.study.tell(trial.number, state=TrialState.FAIL)
            tuner.study.enqueue_trial(trial.params, user_attrs={"aft_source": "requeued"})
            tuner.host.info_message(f"Trial {trial.number + 1} was interrupted before it finished; it will run again.")


async def recover_interrupted(tuner: TuningRun) -> None:
    """A session killed while trials ran left their in-flight files (see engine/inflight.py):
    stop a trial still running, so that it does not train beside its own re-run, and record
    each as cancelled, so that its commit and tag have a record. reconcile re-queues it."""
    from aft_tui.runs.orphans import is_running

    host = tuner.host
    # Usually done when the session reopened (Engine.start); again here for a tuner started on
    # an engine that did not reopen one (the Python API driving several runs).
    for sentence in await asyncio.to_thread(inflight.stop_leftovers, host.state_dir, host.session_id):
        host.info_message(sentence)
    for path, note in await asyncio.to_thread(inflight.left_behind, host.state_dir, host.session_id):
        if is_running(note.get("aft_pid"), note.get("aft_started")):
            continue  # the AFT that runs it is alive (this session open twice): its trial, not a leftover
        if not tuner.ledger.has_run(note["run_id"]) and note.get("commit"):
            stopped_at = note.get("stopped_at")
            _record_interrupted(tuner, note, float(stopped_at) if isinstance(stopped_at, (int, float)) else None)
        inflight.clear(path)


def _record_interrupted(tuner: TuningRun, note: dict[str, Any], ended: float | None) -> None:
    """The record of a trial whose session was killed while it ran: cancelled, like a trial
    stopped with Ctrl-C (recorded, not counted, its parameters run again). `ended`: when it
    was stopped, if it still ran."""
    from aft_tui.engine.tuner.one_trial import write_record

    started_at = float(note.get("started_at") or time.time())
    if ended is None:
        try:  # the last line it wrote is the last sign of life there is
            ended = tuner.host.outputs.log_path(note["run_id"]).stat().st_mtime
        except OSError:
            ended = started_at
    choice = Choice(dict(note.get("params") or {}), str(note.get("rationale") or ""), str(note.get("strategy") or ""),
                    dict(note.get("extra") or {}))
    outcome = TrialOutcome(status="cancelled", duration=max(0.0, ended - started_at),
                           reason="AFT was killed while the trial ran; it runs again with the same parameters")
    optuna_number = note.get("optuna_trial")
    trial = _TrialRef(optuna_number) if isinstance(optuna_number, int) else None
    command = [str(c) for c in note.get("command") or []]
    record = write_record(tuner, note["run_id"], note["number"], choice, outcome, str(note["commit"]),
                          str(note.get("tag") or ""), command, started_at, trial)
    tuner.announce_finish(record)


def rerun_failed_baseline(tuner: TuningRun) -> None:
    """A resumed session whose own configuration failed (and so stopped) runs it again first:
    the person has most likely fixed what the stop sentence named."""
    from optuna.trial import TrialState

    results = tuner.session_results()
    baselines = [r for r in results if r.get("strategy") == "defaults"]
    if (not baselines or baselines[-1].get("status") != "failed" or any(r.get("status") == "ok" for r in results)
            or tuner.study.get_trials(deepcopy=False, states=(TrialState.WAITING,)) or tuner.space is None):
        return
    tuner.study.enqueue_trial(tuner.space.defaults(), user_attrs={"aft_source": "defaults"})
    tuner.host.info_message("The script's own configuration failed last time; it runs again first.")


def usable_baseline(tuner: TuningRun) -> Any:
    """The refactor's smoke run, when it is exactly the run trial 1 would be: the defaults
    (no extra flags), run to the end, on the commit the branch is still at, with the same
    interpreter, GPUs and threads, within the trial time limit, in a session with no trial yet."""
    host = tuner.host
    smoke = host.take_baseline_run()
    if smoke is None or not smoke.ran_defaults or tuner.session_results():
        return None
    if tuner.settings.cluster:
        return None  # it ran here; every trial of a cluster session runs on the cluster
    if tuner.settings.timeout and smoke.outcome.duration > tuner.settings.timeout:
        return None
    try:
        same = (host.workspace.head() == smoke.commit
                and list(smoke.command) == host.interpreter.command(
                    str(host.work_script), baseline_args(tuner.space, host.script_args))
                and all(d.flag for d in tuner.space.fixed_dims)
                and smoke.slot == host.first_slot())
    except (UserError, OSError):
        return None
    if (not same or not host.outputs.run_dir(smoke.run_id).is_dir()
            or host.outputs.run_dir(f"{host.session_id}-t001").exists()):
        return None
    return smoke
