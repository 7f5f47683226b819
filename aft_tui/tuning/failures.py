"""Failures are data: a trial that crashed, ran out of memory or went NaN marks a region to avoid.

Two mechanisms, one for each kind of strategy:

* **Model-based samplers** (tpe, gp, cmaes) learn only from what the study is told. Told
  ``FAIL``, Optuna's samplers drop the trial entirely, so TPE keeps sampling the region that
  just crashed. A failed trial is therefore told as *complete with a penalised value*: the worst
  value any successful trial of the session reached. TPE and CMA-ES only use the ranking of
  values, so the failure lands in the "bad" group without distorting anything else; GP sees
  an observation as bad as the worst real one (not an arbitrary huge number, which would wreck
  its fit). The trial keeps its true status in outputs/ (the durable record) and carries the
  user attributes ``aft_status`` and ``aft_penalised`` in the study, so nothing reads it as a
  real result. With no successful trial yet there is nothing sound to compare with, and the
  trial is told ``FAIL`` as before. Timeouts are told ``FAIL`` too: a timeout says more about
  the time limit (or the session's remaining budget) than about the region.

* **Rule-based proposals** (coordinate descent, the analysis' moves, and anything else that
  computes concrete parameters) ask `near_failure` before proposing: a point with the same
  categorical values as a failed trial and every numeric value within `FAILURE_RADIUS` of it
  (on the unit scale of `moves`) is skipped.
"""

from __future__ import annotations

import math
import re
from typing import Any

from aft_tui.tuning import moves
from aft_tui.tuning.space import SearchSpace

FAILURE_RADIUS = 0.05
"""Within 5% of every numeric range (same categorical values) counts as the failed point's region."""

_OOM = re.compile(r"out of memory", re.I)
_DIVERGED = re.compile(r"diverged|\bnan\b|\binf\b", re.I)


def is_failure(record: dict[str, Any]) -> bool:
    """A trial that crashed, ran out of memory or diverged (not one that was pruned or timed out)."""
    return record.get("status") == "failed"


def failure_kind(record: dict[str, Any]) -> str:
    """'oom', 'diverged' or 'crash', read from the trial's reason."""
    reason = str(record.get("reason") or "")
    if _OOM.search(reason):
        return "oom"
    if _DIVERGED.search(reason):
        return "diverged"
    return "crash"


def near_failure(space: SearchSpace, params: dict[str, Any], records: list[dict[str, Any]],
                 radius: float = FAILURE_RADIUS) -> dict[str, Any] | None:
    """The failed trial whose region `params` falls in, or None."""
    for record in records:
        if not is_failure(record):
            continue
        failed = record.get("params") or {}
        if all(d.name in failed for d in space) and moves.distance(space, params, failed) <= radius:
            return record
    return None


def penalty_value(records: list[dict[str, Any]], direction: str) -> float | None:
    """The worst value a successful trial reached (what a failure is told as), or None."""
    values = [r["value"] for r in records if r.get("status") == "ok" and isinstance(r.get("value"), (int, float))
              and not isinstance(r.get("value"), bool) and math.isfinite(r["value"])]
    if not values:
        return None
    return float(min(values) if direction == "max" else max(values))


def tell(study: Any, trial: Any, status: str, value: float | None, records: list[dict[str, Any]],
         direction: str, reason: str = "") -> None:
    """Tell the study how a finished trial went (see the module doc for failures).

    `trial` is the Trial the study handed out, or a FrozenTrial when reconciling after a crash.
    `records` are the session's trial records, which may include this trial's own.
    """
    from optuna.trial import TrialState

    target = trial.number if hasattr(trial, "state") else trial  # study.tell takes a Trial or a number
    if status == "ok" and isinstance(value, (int, float)) and math.isfinite(value):
        study.tell(target, float(value))
        return
    if status == "pruned":
        study.tell(target, state=TrialState.PRUNED)
        return
    penalty = penalty_value(records, direction) if status == "failed" else None
    if penalty is None:
        study.tell(target, state=TrialState.FAIL)
        return
    _set_attrs(study, trial, {"aft_status": status, "aft_penalised": True, "aft_reason": reason[:200]})
    study.tell(target, penalty)


def _set_attrs(study: Any, trial: Any, attrs: dict[str, Any]) -> None:
    from aft_tui.tuning.optuna_adapter import set_trial_user_attr

    for key, val in attrs.items():
        try:
            set_trial_user_attr(study, trial, key, val)
        except Exception:  # the attribute is a label for people reading the study; never fail a tell over it
            return


STREAK = 3
"""Failures in a row, the same way each time, after which a session stops."""


class FailFast:
    """When a failure should stop the session instead of spending the rest of the budget.

    Trial 1 runs the person's own configuration: if that fails, every proposal around it will
    almost surely fail the same way (a missing package, a missing file), so the session stops
    at once. Later, `STREAK` failures in a row with the same diagnosis (whatever the parameter
    values) stop it too. A diverged run is a property of the values tried, so it neither counts
    nor stops, not even for trial 1 (tuning is how a diverging learning rate gets fixed); a pruned, timed-out or successful trial shows the script works and resets the
    count; a cancelled trial says nothing either way.
    """

    def __init__(self, streak: int = STREAK) -> None:
        self.streak = streak
        self._key: str | None = None
        self._count = 0

    def observe(self, status: str, diagnosis: Any, baseline: bool) -> str | None:
        """The sentence to stop with, or None to go on. `diagnosis` is a runs.diagnosis.Diagnosis."""
        if status == "cancelled":
            return None
        if status != "failed" or diagnosis is None:
            self._key, self._count = None, 0
            return None
        if diagnosis.kind == "diverged":
            # Even for trial 1: a diverging learning rate is exactly what tuning can fix.
            self._key, self._count = None, 0
            return None
        if baseline:
            return (f"Trial 1, the script's own configuration, failed, so AFT stopped instead of running the other "
                    f"trials: {diagnosis.sentence}")
        if diagnosis.key == self._key:
            self._count += 1
        else:
            self._key, self._count = diagnosis.key, 1
        if self._count >= self.streak:
            return f"{self._count} trials in a row failed the same way, so AFT stopped: {diagnosis.sentence}"
        return None
