"""What happens after an experiment's trial: keep it, confirm it, or discard it (and take its
code back), and tell the bandit, the journal and --notify.

A discarded code change is undone by a new commit that restores the files as they were, never by
moving the branch back: the change's commit stays in the branch's history (and its trial's tag
points past it), so every idea can be inspected, compared and revived.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

from aft_tui.engine import events as ev
from aft_tui.engine.research.experiment_plan import ExperimentPlan
from aft_tui.engine.research.records import Experiment, Kind, Status
from aft_tui.engine.research.change_params import Retune
from aft_tui.engine.research.repeatability import signature
from aft_tui.metric_names import is_loss
from aft_tui.target.recipes.catalogue import CHANGE_THE_LOSS
from aft_tui.tuning.acceptance import judge_change, noise_at

from aft_tui.engine.research.context import ResearchRun


NOTIFY_STREAK = 3
"""Crashes in a row worth telling the person about (--notify)."""
STOP_STREAK = 5
"""Crashes in a row that stop the session: something beyond any one experiment is wrong."""
MAX_REPAIRS = 2
"""A crashed code change is repaired at most this many times, then discarded with its reason."""


def _environmental(record: dict[str, Any]) -> bool:
    """A crash caused by the surroundings (a missing package or file, no memory): no edit repairs it."""
    from aft_tui.runs.diagnosis import ENVIRONMENTAL

    diagnosis = record.get("diagnosis")
    return isinstance(diagnosis, dict) and diagnosis.get("kind") in ENVIRONMENTAL


def current_noise(loop: ResearchRun) -> float:
    rs = loop.rstate
    mean = sum(rs.baseline_values) / len(rs.baseline_values) if rs.baseline_values else None
    return noise_at(rs.noise or 0.0, mean, rs.best_value)


def arm_of(experiment: Experiment) -> str:
    return experiment.source if experiment.kind == Kind.CODE.value else "numeric"


async def conclude(loop: ResearchRun, plan: ExperimentPlan, e: Experiment, record: dict[str, Any]) -> None:
    rs = loop.rstate
    if plan.kind == Kind.BASELINE:
        _baseline(loop, e, record)
        return
    if e.status == Status.CRASH.value or e.value is None:
        await _crashed(loop, plan, e, record)
        return
    if e.stopped_at_limit and loop.cut_short:
        await _cut_short(loop, plan, e)
        return
    rs.crash_streak = 0
    direction = loop.direction or "max"
    noise = current_noise(loop)
    if plan.kind == Kind.CONFIRM and plan.confirms is not None:
        original = plan.confirms
        verdict = judge_change([original.value, e.value], rs.best_value, direction, noise)
        kept = verdict.decision == "keep"
        e.status = original.status = Status.KEEP.value if kept else Status.DISCARD.value
        e.reason = f"confirmation of #{original.number}: {verdict.sentence}"
        original.reason = (f"kept after confirming run #{e.number}: {verdict.sentence}" if kept
                           else f"not confirmed by run #{e.number}: {verdict.sentence}")
        if original.kind == Kind.CODE.value:
            e.code_commit = ""
            if not kept:
                mark_recipe(loop, original.recipe)
                await _revert(loop, original, original.reason)
        loop.bandit.update(arm_of(original), kept)
        if kept:
            _new_best(loop, original, (original.value + e.value) / 2)
        loop.record_experiment(e)
        return
    verdict = judge_change([e.value], rs.best_value, direction, noise)
    e.reason = verdict.sentence
    if verdict.decision == "keep":
        e.status = Status.KEEP.value
        loop.bandit.update(plan.arm or arm_of(e), True)
        _new_best(loop, e, e.value)
        loop.record_experiment(e)
        return
    if verdict.decision == "confirm":
        e.status = Status.DISCARD.value  # until the confirming run says otherwise
        loop.pending_confirm = e
        loop.record_experiment(e)
        return
    e.status = Status.DISCARD.value
    if plan.kind == Kind.CODE and _retune_next(loop, plan, e):
        # Each run a change costs counts: a recipe that loses at three learning rates weighs as three
        # outcomes, not one, so an arm whose changes keep losing hands its time to the others.
        loop.bandit.update(plan.arm or arm_of(e), False)
        loop.record_experiment(e)
        return
    loop.bandit.update(plan.arm or arm_of(e), False)
    if plan.kind == Kind.CODE:
        _mark_tried(loop, plan)
        await _revert(loop, e, e.reason)
    loop.record_experiment(e)


def _retune_next(loop: ResearchRun, plan: ExperimentPlan, e: Experiment) -> bool:
    """Queue the change again at another learning rate (retune.py), when there is one to try."""
    if plan.change is None or e.value is None:
        return False
    state = plan.retune or Retune(first=e)
    if plan.retune is not None:
        state.tried.append((plan.factor, e.value))
    following = state.next_run(loop.space, loop.direction or "max")
    if following is None:
        return False
    factor, params, words = following
    title = plan.change.title
    loop.pending_retune = replace(plan, description=f"{title}, {words}", params=params, retune=state, factor=factor,
                                  rationale=f"code change ({plan.arm}): {title}, again with the {words}: a change "
                                            "to training moves the learning rate that suits it")
    e.reason += f"; it runs again with the {words} before it is discarded"
    return True


def _baseline(loop: ResearchRun, e: Experiment, record: dict[str, Any]) -> None:
    rs = loop.rstate
    if e.value is None:
        e.status = Status.CRASH.value
        e.reason = _failure(record) or "the baseline reported no value"
    else:
        e.status = Status.KEEP.value
        e.reason = "the reference every change is measured against"
        rs.baseline_signatures.append(signature(record.get("history"), loop.metric))
        if rs.best_value is None:
            rs.best_value, rs.best_params = e.value, dict(e.params)
    loop.record_experiment(e)
    loop.set_noise()


async def _crashed(loop: ResearchRun, plan: ExperimentPlan, e: Experiment, record: dict[str, Any]) -> None:
    rs = loop.rstate
    reason = _failure(record) or f"the run ended {record.get('status')} without a value"
    e.status = Status.CRASH.value if record.get("status") == "failed" else Status.DISCARD.value
    e.reason = reason
    loop.bandit.update(plan.arm or arm_of(e), False)
    target = plan.confirms if plan.kind == Kind.CONFIRM and plan.confirms is not None else None
    if target is not None and target.kind == Kind.CODE.value:
        target.reason = f"its confirming run #{e.number} failed: {reason}"
        mark_recipe(loop, target.recipe)
        await _revert(loop, target, target.reason)
    if plan.kind == Kind.CODE:
        _mark_tried(loop, plan)
        await _revert(loop, e, reason)
        if e.status == Status.CRASH.value and plan.change is not None and plan.repairs < MAX_REPAIRS \
                and plan.retune is None and not _environmental(record):
            loop.pending_repair = (plan.change, reason, plan.repairs + 1)
            e.reason += f"; repair {plan.repairs + 1} of {MAX_REPAIRS} comes next"
        elif e.status == Status.CRASH.value and plan.repairs:
            e.reason += f"; discarded after {plan.repairs} repair(s)"
    if e.status == Status.CRASH.value:
        rs.crash_streak += 1
        if rs.crash_streak == NOTIFY_STREAK:
            loop.options.notify_event("crash_streak", {**loop.research_summary(), "last_reason": reason},
                                      loop.host.info_message)
        if rs.crash_streak >= STOP_STREAK:
            loop.stop_for(f"{rs.crash_streak} experiments in a row crashed (the last: {reason}); research stopped so "
                          "that the rest of the budget is not spent the same way. Fix the cause and resume.")
    loop.record_experiment(e)


async def _cut_short(loop: ResearchRun, plan: ExperimentPlan, e: Experiment) -> None:
    """Stopped by the session's end, not by its own limit: a partial run says nothing about the
    change, so it is discarded unjudged (a code change is taken back; its recipe may come again)."""
    e.status = Status.DISCARD.value
    e.reason = f"cut short by the end of the session's time budget ({e.value:.6g} at that point); not judged"
    if plan.kind == Kind.CODE:
        await _revert(loop, e, e.reason)
    target = plan.confirms if plan.kind == Kind.CONFIRM else None
    if target is not None and target.kind == Kind.CODE.value:
        target.reason = f"its confirming run #{e.number} was cut short by the session's end"
        await _revert(loop, target, target.reason)
    loop.record_experiment(e)


def _new_best(loop: ResearchRun, e: Experiment, value: float) -> None:
    rs = loop.rstate
    rs.best_value, rs.best_params, rs.best_experiment = value, dict(e.params), e.number
    loop.host.info_message(f"Experiment {e.number} kept ({e.description}): {loop.metric} = {value:.6g}.")
    loop.options.notify_event("new_best", loop.research_summary(), loop.host.info_message)


def _mark_tried(loop: ResearchRun, plan: ExperimentPlan) -> None:
    if plan.change is not None:
        mark_recipe(loop, plan.change.recipe)


def mark_recipe(loop: ResearchRun, recipe: str) -> None:
    """A recipe that did not pay off, with the best value it was measured against: it may come
    back once the best has moved on (blocked_recipes)."""
    if not recipe:
        return
    rs = loop.rstate
    if recipe not in rs.tried_recipes:
        rs.tried_recipes.append(recipe)
    rs.recipe_tries.setdefault(recipe, []).append(rs.best_value)


RECIPE_TRIES = 2
"""A recipe that did not pay off is tried once more at most, in a new context."""


def blocked_recipes(loop: ResearchRun) -> list[str]:
    """Recipes not to propose now: rejected by the person, tried RECIPE_TRIES times, tried at
    a best the session has not clearly moved past since, or changing the loss that is the objective. A change that did not pay off with
    early parameters may pay off with better ones; with the same ones it would not."""
    rs = loop.rstate
    blocked = []
    for recipe in rs.tried_recipes:
        tries = rs.recipe_tries.get(recipe) or []
        last = tries[-1] if tries else None
        if (len(tries) >= RECIPE_TRIES or last is None or rs.best_value is None
                or judge_change([rs.best_value], last, loop.direction or "max", current_noise(loop)).decision != "keep"):
            blocked.append(recipe)
    if loop.metric and is_loss(loop.metric):
        blocked.extend(sorted(CHANGE_THE_LOSS - set(blocked)))
    return blocked


async def _revert(loop: ResearchRun, e: Experiment, reason: str) -> None:
    """Restore the files the experiment's change touched as they were before it, in a new commit."""
    if not e.code_commit or e.revert_commit:
        return
    workspace = loop.host.workspace
    files: dict[str, bytes] = {}
    removed: list[str] = []
    for rel in e.files:
        before = await asyncio.to_thread(workspace.file_bytes_at, e.code_commit + "^", rel)
        if before is None:
            removed.append(rel)
        else:
            files[rel] = before
    message = f"research {e.number}: discard {e.description}\n\n{reason}"
    async with loop.commit_lock:
        e.revert_commit = await asyncio.to_thread(workspace.commit, message, files, removed)
    for other in loop.experiments:  # the change's earlier runs (its learning rate retuned) share it
        if other.code_commit == e.code_commit and not other.revert_commit:
            other.revert_commit = e.revert_commit
    loop.host.emit(ev.CommitMade(sha=e.revert_commit, message=message.splitlines()[0], branch=workspace.branch))
    loop.rebuild_space()


def _failure(record: dict[str, Any]) -> str:
    diagnosis = record.get("diagnosis")
    if isinstance(diagnosis, dict) and diagnosis.get("sentence"):
        return str(diagnosis["sentence"])
    return str(record.get("reason") or "")


async def settle_unjudged(loop: ResearchRun) -> None:
    """On a restart: a code change the stopped session left applied without keeping it (its
    confirming run or its retuned learning rate never ran) is taken back, so the code research
    continues from is the code of its best."""
    for e in list(loop.experiments):
        if e.kind != Kind.CODE.value or not e.code_commit or e.revert_commit:
            continue
        same = [o for o in loop.experiments if o.code_commit == e.code_commit]
        if any(o.kept for o in same) or any(o.revert_commit for o in same):
            continue
        if e.status == Status.CRASH.value:
            continue  # a crash is taken back when it is recorded; nothing is left applied
        await _revert(loop, e, "the session stopped before this change was judged; it is taken back on restart")
        loop.save()
