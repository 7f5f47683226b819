"""The path of one trial, whoever proposed it: commit, run (or take the smoke run that already
ran it), judge, record, announce. The loop (loop.py) asks for it and tells Optuna after.

The order is what makes a SIGKILL harmless: the trial is committed and marked in flight before
it runs, its record is written to outputs/ before Optuna is told, and its in-flight file is
removed only once the record exists (see engine/inflight.py).
"""

from __future__ import annotations

import asyncio
import math
import os
import time
import warnings
from pathlib import Path
from typing import Any

from aft_tui.engine import events as ev
from aft_tui.engine import inflight
from aft_tui.engine.judge import TrialOutcome, judge
from aft_tui.engine.session_log import LOG_LINES_KEPT_PER_TRIAL
from aft_tui.engine.trial import TrialRun, pruning_step
from aft_tui.engine.trial_record import TrialRecord
from aft_tui.engine.tuner import bookkeeping
from aft_tui.engine.tuner.context import TuningRun
from aft_tui.fsutil import json_safe
from aft_tui.formatting import fmt_params
from aft_tui.runs.invocation import build_args
from aft_tui.tuning.base import Choice




def reported_steps(history: list[dict[str, Any]], metric: str) -> dict[int, float]:
    """{step: value} of the objective as a live trial reports it to the pruner (see TrialRun)."""
    out: dict[int, float] = {}
    last: int | None = None
    for row in history:
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


def first_lines(path: Path, n: int, width: int = 64 * 1024) -> list[str]:
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


async def run_trial(tuner: TuningRun, number: int, choice: Choice, gpus: list[int] | None,
                    trial: Any) -> tuple[TrialOutcome, dict[str, Any], Any]:
    """Run trial `number` and record it; returns its outcome, its record and its Optuna trial
    (asked for after the run when the study opened only then)."""
    host = tuner.host
    assert tuner.space is not None
    run_id = f"{host.session_id}-t{number:03d}"
    smoke = tuner.take_baseline() if number == 1 and choice.source == "defaults" else None
    if smoke is not None:
        choice = Choice(choice.params, choice.rationale + "; the smoke run that proved the refactor "
                        f"({smoke.run_id}) ran exactly this, so it is kept instead of training again", "defaults",
                        choice.extra)
        await asyncio.to_thread(host.outputs.adopt_run, smoke.run_id, run_id)
        command = list(smoke.command)
        gpus = list(smoke.slot[0] or []) if smoke.slot else []
    else:
        run_dir = host.outputs.run_dir(run_id)
        run_dir.mkdir(parents=True, exist_ok=True)
        args = build_args(tuner.space, choice.params, run_dir, host.work_root, host.script_args)
        command = host.interpreter.command(str(host.work_script), args)
    async with tuner.commit_lock:
        sha, tag = await asyncio.to_thread(bookkeeping.commit_choice, host.workspace, host.session_id, number, run_id,
                                           choice, command, dict(tuner.space.fixed), host.script_args)
    # Emitted here, on the loop's thread: subscribers and the session log are not thread-safe.
    host.emit(ev.CommitMade(sha=sha, message=f"trial {number}: {fmt_params(choice.params)}",
                            branch=host.workspace.branch, tag=tag))
    tagging = bookkeeping.in_background(host.workspace.tag, tag, sha)
    timeout = tuner.trial_timeout()
    spec = host.trial_spec(run_id, number, choice.params, command, timeout=timeout, gpus=gpus,
                           omp_threads=tuner.omp_threads, commit=sha)
    started_at = time.time() - (smoke.outcome.duration if smoke is not None else 0.0)
    # Until its record is written, the trial is in flight: a resume after a crash finds it here.
    spec.process_note = {"session": host.session_id, "run_id": run_id, "number": number,
                         "optuna_trial": trial.number if trial is not None else None,
                         "params": choice.params, "strategy": choice.source, "rationale": choice.rationale,
                         "extra": choice.extra or {}, "commit": sha, "tag": tag, "command": command,
                         "started_at": started_at, "aft_pid": os.getpid(), "aft_started": tuner.own_start}
    spec.process_file = inflight.mark(host.state_dir, spec.process_note)
    host.emit(ev.TrialStarted(run_id=run_id, number=number, params=choice.params, command=command, commit=sha,
                              gpus=gpus or [], rationale=choice.rationale))
    if smoke is not None:
        outcome = await _replay_smoke_run(tuner, smoke, run_id)
        live = False
    else:
        outcome = await _run(tuner, spec, trial)
        live = trial is not None
    if tuner.metric is None and outcome.status != "failed":
        tuner.choose_objective(outcome)  # no --metric: trial 1 tells what the script reports
    if outcome.evidence is not None and outcome.judged_for != tuner.metric:
        outcome = _judged_again(tuner, outcome)
    if trial is None and tuner.metric is not None:
        trial = tuner.late_trial(choice)  # the study opened once the objective was known
    record = write_record(tuner, run_id, number, choice, outcome, sha, tag, command, started_at, trial)
    # Waited for on every trial, after the record (the tag overlaps with writing it): a tag
    # that failed is said, never lost.
    bookkeeping.settle(tagging, host.info_message, f"Could not tag {sha[:8]} as {tag}")
    inflight.clear(spec.process_file)
    if trial is not None and not live:
        report_curve(trial, record["history"], tuner.metric or "")
    tuner.announce_finish(record)
    return outcome, record, trial


async def _run(tuner: TuningRun, spec: Any, trial: Any) -> TrialOutcome:
    runner = TrialRun(spec, tuner.host.emit, tuner.metric, tuner.direction,
                      tuner.prune_check(trial) if trial is not None else None)
    tuner.running[spec.run_id] = runner
    try:
        if tuner.cancelled or tuner.host.stop_requested:
            await runner.cancel("cancelled")
        return await runner.run()
    finally:
        tuner.running.pop(spec.run_id, None)


async def _replay_smoke_run(tuner: TuningRun, smoke: Any, run_id: str) -> TrialOutcome:
    """Trial 1 is the smoke run that already trained the defaults: its folder became trial 1's,
    and the views and the session log are shown what its run showed under the smoke run's id."""
    host = tuner.host
    outcome = smoke.outcome
    if outcome.artifact is not None:
        old_dir = host.outputs.run_dir(smoke.run_id)
        try:
            outcome.artifact = host.outputs.run_dir(run_id) / Path(outcome.artifact).relative_to(old_dir)
        except ValueError:
            pass  # saved outside the run folder: it stays where it is
    head = await asyncio.to_thread(first_lines, host.outputs.log_path(run_id), LOG_LINES_KEPT_PER_TRIAL)
    if head:
        host.emit(ev.TrialLog(run_id=run_id, lines=head))
    host.info_message(f"Trial 1 is the smoke run {smoke.run_id}: it ran the defaults to the end "
                      f"({outcome.duration:.1f} s), so they are not trained a second time.")
    rows = next((rows for rows in ((outcome.sources or {}).get("file"), (outcome.sources or {}).get("stdout"))
                 if rows), outcome.history)
    for row in rows:
        step, epoch = row.get("step"), row.get("epoch")
        values = {k: v for k, v in row.items() if k not in ("step", "epoch")}
        host.emit(ev.TrialMetric(run_id=run_id, step=step if isinstance(step, int) else None,
                                 epoch=epoch if isinstance(epoch, (int, float)) else None, values=values))
    return outcome


def _judged_again(tuner: TuningRun, outcome: TrialOutcome) -> TrialOutcome:
    """A run judged before the objective was known, judged by the same rules now that it is."""
    again = judge(outcome.evidence, tuner.metric, tuner.direction, tuner.settings.metric_window)
    again.duration, again.artifact = outcome.duration, outcome.artifact
    return again


def report_curve(trial: Any, history: list[dict[str, Any]], metric: str) -> None:
    """Give Optuna the curve of a trial that ran without reporting it live (before the study
    existed, or the smoke run): the pruner measures runs and compares trials by these values."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for step, value in reported_steps(history, metric).items():
            try:
                trial.report(value, step)
            except Exception:  # a step Optuna already holds; the others still count
                continue


def write_record(tuner: TuningRun, run_id: str, number: int, choice: Choice, outcome: TrialOutcome, sha: str,
                 tag: str, command: list[str], started_at: float, trial: Any) -> dict[str, Any]:
    """The one place a trial's record is made and written: outputs/ (result.json, results.json),
    the git note on its commit, its analysis, and the best model when it is the best."""
    host = tuner.host
    findings = tuner.findings(outcome.history)
    model_path = str(outcome.artifact) if outcome.artifact else None
    record = TrialRecord(
        run_id=run_id, session=host.session_id, number=number,
        optuna_trial=trial.number if trial is not None else 0, status=outcome.status, reason=outcome.reason,
        params=choice.params, fixed=dict(tuner.space.fixed) if tuner.space else {},
        metric=tuner.metric, direction=tuner.direction, value=outcome.value, best=outcome.best,
        best_epoch=outcome.best_epoch, history=outcome.history, metrics_reported=outcome.metric_names,
        duration=round(outcome.duration, 3), started_at=started_at, finished_at=time.time(),
        commit=sha, tag=tag, command=command, returncode=outcome.returncode, script_args=host.script_args,
        strategy=choice.source, rationale=choice.rationale, pruned_at=outcome.pruned_at, findings=findings,
        strategy_info=choice.extra or {}, log=str(host.outputs.log_path(run_id)), model_path=model_path,
        script_result=outcome.script_result or None, node=outcome.placement or None)
    if record.status == "failed":
        record.diagnosis = tuner.diagnose(record, outcome)
    data = record.to_json()
    previous_best = tuner.ledger.best(tuner.direction)
    noting = bookkeeping.in_background(host.workspace.add_note, sha,
                                       json_safe({k: data[k] for k in bookkeeping.NOTE_KEYS}))
    tuner.ledger.write(data)
    # A note is a convenience; the result is already on disk.
    bookkeeping.settle(noting, host.info_message, f"Could not attach the result note to {sha[:8]}")
    # A sentence that repeats word for word says something about the script, not this trial
    # ("only 1 evaluation was recorded"): shown once, while every record keeps it.
    fresh = [f for f in findings if f.get("sentence") not in tuner.said_findings]
    tuner.said_findings.update(str(f.get("sentence")) for f in fresh)
    if fresh:
        host.emit(ev.Analysis(run_id=run_id, findings=fresh))
    tuner.keep_if_best(data, outcome, previous_best)
    return data
