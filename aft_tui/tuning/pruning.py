"""Why a trial was pruned, in one sentence that names the rule and the comparison.

Optuna's pruners answer only yes or no. A person reading "pruned" needs the numbers: which
rule, the trial's value at which step, and what it was compared with. The comparison is
recomputed here from the study exactly as the pruner makes it:

* **median** (`median_rule` below): the trial's best value so far against the median of the
  values other trials reported at the same step;
* **hyperband** (successive halving in brackets): at each rung (steps min_resource x 3^k) a
  trial continues only if it is in the top 1/reduction_factor of the trials of its bracket
  that reached that rung.
"""

from __future__ import annotations

import math
import statistics
from typing import Any


MEDIAN_STARTUP = 4
"""The median rule needs at least 4 other trials that reached a step before it prunes there."""

MEDIAN_WARMUP = 1 / 3
"""...and never prunes in the first third of a run, measured by the first finished trial's length."""


def median_rule(startup: int = MEDIAN_STARTUP, warmup: float = MEDIAN_WARMUP) -> Any:
    """The median pruner AFT uses: Optuna's median rule with two corrections.

    * **No survivor bias.** Optuna's MedianPruner compares with *completed* trials only. Once it
      has pruned the weak trials, only strong ones complete, the median climbs, and in our
      tuning benchmark it ended up pruning three trials in four. Here every trial that reached
      the step counts (a trial pruned later was alive at this step, as in successive halving).
    * **Warm-up relative to the run.** Curves cross: a lower learning rate starts slower and
      often ends better. No trial is pruned before a third of the length of the first finished
      trial (normally the defaults), whatever unit the script counts steps in.
    * **Worse by more than the noise.** A trial is pruned only when its best value so far is
      below the median by more than the objective's epoch-to-epoch noise (the median of the
      finished trials' curve noise, `tuning.noise.curve_noise` around a local straight line):
      a trial level with the median within noise is not evidence of a bad configuration.
    """
    import optuna
    from optuna.study import StudyDirection
    from optuna.trial import TrialState

    class MedianRule(optuna.pruners.BasePruner):
        def __init__(self) -> None:
            self.startup, self.warmup = startup, warmup

        def reference(self, study: Any, trial: Any, step: int) -> list[float]:
            values = []
            for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)):
                v = t.intermediate_values.get(step)
                if t.number != trial.number and v is not None and math.isfinite(v):
                    values.append(v)
            return values

        def warmup_steps(self, study: Any) -> float:
            # A trial recorded without its curve (told only its final value) says nothing of a run's length.
            done = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)) if t.last_step is not None]
            first = min(done, key=lambda t: t.number, default=None)
            if first is None:
                return math.inf  # nothing to measure a run's length by yet
            if len(first.intermediate_values) < 2:
                return math.inf  # one evaluation per run (at its end): stopping then saves nothing
            return self.warmup * first.last_step

        def noise(self, study: Any) -> float:
            from aft_tui.tuning.noise import curve_noise

            levels = []
            for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
                ys = [v for _, v in sorted(t.intermediate_values.items()) if math.isfinite(v)]
                level = curve_noise(ys, quadratic=False)
                if level is not None:
                    levels.append(level)
            return statistics.median(levels) if levels else 0.0

        def prune(self, study: Any, trial: Any) -> bool:
            step = trial.last_step
            if step is None or step < self.warmup_steps(study):
                return False
            others = self.reference(study, trial, step)
            if len(others) < self.startup:
                return False
            mine = [v for s, v in trial.intermediate_values.items() if s <= step]
            if any(not math.isfinite(v) for v in mine):
                return True
            maximize = study.direction == StudyDirection.MAXIMIZE
            best = max(mine) if maximize else min(mine)
            median = statistics.median(others)
            margin = self.noise(study)
            return best < median - margin if maximize else best > median + margin

    return MedianRule()


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def _pair(a: float, b: float) -> tuple[str, str]:
    """Both numbers with just enough digits to show that they differ."""
    for digits in range(4, 12):
        fa, fb = f"{a:.{digits}g}", f"{b:.{digits}g}"
        if fa != fb:
            return fa, fb
    return f"{a:.12g}", f"{b:.12g}"


def _frozen(study: Any, number: int) -> Any | None:
    for t in study.get_trials(deepcopy=False):
        if t.number == number:
            return t
    return None


def explain(study: Any, trial: Any, rule: str, metric: str, value: float, step: int) -> str:
    """The sentence recorded as a pruned trial's reason."""
    try:
        if rule == "median":
            return _explain_median(study, trial, metric, value, step)
        if rule == "hyperband":
            return _explain_hyperband(study, trial, metric, value, step)
    except Exception:  # an explanation must never break a trial; fall back to the plain statement
        pass
    return f"{rule} rule: {metric}={_fmt(value)} at step {step} was worse than earlier trials at that step"


def _explain_median(study: Any, trial: Any, metric: str, value: float, step: int) -> str:
    from optuna.study import StudyDirection

    maximize = study.direction == StudyDirection.MAXIMIZE
    frozen = _frozen(study, trial.number)
    mine = [v for s, v in (frozen.intermediate_values.items() if frozen else []) if s <= step and math.isfinite(v)]
    best = (max(mine) if maximize else min(mine)) if mine else value
    others = study.pruner.reference(study, frozen or trial, step)
    median = statistics.median(others)
    relation = "below" if maximize else "above"
    shown, median_text = _pair(best, median)
    best_text = (f"{metric}={shown} at step {step}" if best == value
                 else f"{metric}={_fmt(value)} at step {step} (its best so far {shown})")
    margin = study.pruner.noise(study)
    noise_text = f" by more than the noise (±{margin:.2g})" if margin > 1e-9 * max(1.0, abs(median)) else ""
    return (f"median rule: {best_text} is {relation} the median {median_text} of the {len(others)} other "
            f"trials at step {step}{noise_text}")


def _explain_hyperband(study: Any, trial: Any, metric: str, value: float, step: int) -> str:
    from optuna.study import StudyDirection

    from aft_tui.tuning.optuna_adapter import (
        completed_rungs,
        hyperband_bracket,
        hyperband_bracket_count,
        hyperband_reduction_factor,
    )

    maximize = study.direction == StudyDirection.MAXIMIZE
    pruner = study.pruner
    frozen = _frozen(study, trial.number)
    rungs = completed_rungs(frozen) if frozen else {}
    rung = max(rungs, default=0)
    trials = study.get_trials(deepcopy=False)
    bracket_text = ""
    bracket = hyperband_bracket(pruner, study, frozen)
    if bracket is not None:
        trials = [t for t in trials if hyperband_bracket(pruner, study, t) == bracket]
        n_brackets = hyperband_bracket_count(pruner)
        if n_brackets:
            bracket_text = f", bracket {bracket + 1} of {n_brackets}"
    competing = [completed_rungs(t)[rung] for t in trials if rung in completed_rungs(t) and t.number != trial.number]
    mine = rungs.get(rung, value)
    competing.append(mine)
    factor = hyperband_reduction_factor(pruner)
    keep = max(1, len(competing) // factor)
    ranked = sorted(competing, reverse=maximize)
    cutoff = ranked[keep - 1]
    relation = "at least" if maximize else "at most"
    shown, cutoff_text = _pair(float(mine), float(cutoff))
    return (f"successive-halving rule (Hyperband{bracket_text}, rung {rung + 1}): {metric}={shown} at step "
            f"{step} is not in the top 1/{factor} of the {len(competing)} trial{'s' if len(competing) != 1 else ''} "
            f"of its bracket that reached this rung (the top {keep} needed {relation} {cutoff_text})")
