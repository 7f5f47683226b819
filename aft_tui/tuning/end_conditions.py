"""When to stop tuning before the trial budget runs out.

* **target**: the best value reached ``target_value``.
* **patience**: ``patience`` trials finished since the best one without beating it.
* **stagnation**: over the last ``stagnation`` finished trials the best value improved by less
  than the noise of the objective, so any further "improvement" would be indistinguishable
  from measuring the same model twice.

The noise is estimated, in order of preference, from

1. trials that ran the *same parameters* more than once (a re-run after an interruption, or a
   repeated defaults run): the pooled standard deviation of their values. This is the noise
   between repeated runs itself;
2. the curve analysis: each successful trial's epoch-to-epoch scatter of the objective (the
   analyzer's robust noise estimate, recorded in its findings' evidence, or computed with the
   same estimator, `tuning.noise.curve_noise` around a local straight line, from the trial's
   history when no finding carried it). The median over trials is used. Epoch-to-epoch
   scatter is a lower bound on the run-to-run noise (a different seed also changes the path),
   so the rule errs towards tuning longer;
3. nothing: with no estimate, "below the noise" means "no improvement at all".
"""

from __future__ import annotations

import math
import statistics
from typing import Any

from aft_tui.tuning.noise import curve_noise

COUNTED = ("ok", "failed", "pruned", "timeout")


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _ok(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if r.get("status") == "ok" and _finite(r.get("value"))]


def best_of(records: list[dict[str, Any]], direction: str) -> dict[str, Any] | None:
    sign = 1 if direction == "max" else -1
    best = None
    for r in sorted(_ok(records), key=lambda r: r.get("number") or 0):
        if best is None or sign * r["value"] > sign * best["value"]:
            best = r
    return best


def _repeat_noise(records: list[dict[str, Any]]) -> float | None:
    groups: dict[str, list[float]] = {}
    for r in _ok(records):
        key = repr(sorted((r.get("params") or {}).items()))
        groups.setdefault(key, []).append(float(r["value"]))
    squares, dof = 0.0, 0
    for values in groups.values():
        if len(values) >= 2:
            mean = sum(values) / len(values)
            squares += sum((v - mean) ** 2 for v in values)
            dof += len(values) - 1
    return math.sqrt(squares / dof) if dof else None


def _curve_noise(record: dict[str, Any]) -> float | None:
    for finding in record.get("findings") or []:
        noise = (finding.get("evidence") or {}).get("noise")
        if _finite(noise):
            return float(noise)
    metric = record.get("metric")
    return curve_noise([float(row[metric]) for row in record.get("history") or [] if metric and _finite(row.get(metric))],
                       quadratic=False)


def noise_estimate(records: list[dict[str, Any]]) -> tuple[float | None, str]:
    """(standard deviation of the objective between runs, where the estimate came from)."""
    repeated = _repeat_noise(records)
    if repeated is not None:
        return repeated, "repeated runs of the same parameters"
    per_trial = [n for n in (_curve_noise(r) for r in _ok(records)) if n is not None]
    if per_trial:
        return statistics.median(per_trial), "the epoch-to-epoch scatter of the learning curves"
    return None, "no estimate"


def end_reason(records: list[dict[str, Any]], direction: str, *, target_value: float | None = None,
               patience: int | None = None, stagnation: int | None = None) -> str | None:
    """Why tuning should stop now (a sentence fragment for the summary), or None to go on."""
    counted = sorted((r for r in records if r.get("status") in COUNTED), key=lambda r: r.get("number") or 0)
    best = best_of(counted, direction)
    if target_value is not None and best is not None:
        if (direction == "max" and best["value"] >= target_value) or (direction == "min" and best["value"] <= target_value):
            return f"target {target_value:g} reached"
    if patience is not None and best is not None:
        later = [r for r in counted if (r.get("number") or 0) > (best.get("number") or 0)]
        if len(later) >= patience:
            return f"no improvement in {patience} trials"
    if stagnation is not None and stagnation >= 1 and len(counted) > stagnation:
        # Finish order, not trial number: with parallel trials "the last N" are the last to finish.
        by_finish = sorted(counted, key=lambda r: (r.get("finished_at") or 0, r.get("number") or 0))
        earlier = best_of(by_finish[:-stagnation], direction)
        if earlier is not None and best is not None:
            gain = (best["value"] - earlier["value"]) * (1 if direction == "max" else -1)
            noise, source = noise_estimate(counted)
            if gain <= (noise or 0.0):
                bar = f"the noise ±{noise:.3g} (from {source})" if noise else "zero (no noise estimate yet)"
                return (f"stagnation: the best improved by {gain:.3g} over the last {stagnation} trials, "
                        f"not more than {bar}")
    return None
