"""Noise-aware acceptance: a change is kept only when its gain is larger than run-to-run noise.

Gains below the noise are common (the same script, run twice, does not score the same), and a
research session that keeps every lucky run drifts on noise. The noise is measured at the start
(the baseline run several times) as the standard deviation of those runs. A change is kept at
once when it beats the best by more than `MARGIN_SIGMAS` of it; a gain that is positive but
inside the noise earns one confirming re-run, and is kept only when the mean of both runs
still clears the margin of a two-run mean. A deterministic script measures zero noise, and then
any strict gain counts.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Sequence

MARGIN_SIGMAS = 2.0


def noise_of(values: Sequence[float]) -> float:
    """The run-to-run standard deviation of repeated runs of one configuration (0 for fewer than two)."""
    finite = [float(v) for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
    if len(finite) < 2:
        return 0.0
    return statistics.stdev(finite)


def noise_at(noise: float, baseline_mean: float | None, best: float | None) -> float:
    """The noise carried from the baseline's level to the best's: a loss that fell a hundredfold
    also wobbles about a hundredfold less, so the baseline's absolute spread would hide every real
    gain down there. It only ever shrinks (an accuracy that rose is not noisier for it)."""
    if not noise or baseline_mean is None or best is None or baseline_mean == 0 or best * baseline_mean <= 0:
        return noise
    return min(noise, noise * abs(best) / abs(baseline_mean))


def gain(value: float, best: float, direction: str) -> float:
    """How much better `value` is than `best` (negative when worse)."""
    return (value - best) if direction == "max" else (best - value)


@dataclass(frozen=True)
class Verdict:
    decision: str  # "keep" | "confirm" | "discard"
    sentence: str


def judge_change(values: Sequence[float], best: float | None, direction: str, noise: float) -> Verdict:
    """The verdict on a change measured by `values` (one run, or a run and its confirming re-run)."""
    finite = [v for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
    if not finite:
        return Verdict("discard", "it reported no usable value")
    value = sum(finite) / len(finite)
    if best is None:
        return Verdict("keep", f"the first measured value ({value:.6g})")
    margin = MARGIN_SIGMAS * noise / math.sqrt(len(finite))
    delta = gain(value, best, direction)
    shown = f"{'mean ' if len(finite) > 1 else ''}{value:.6g} vs best {best:.6g}"
    if delta > margin:
        beyond = f", beyond the noise margin {margin:.3g}" if margin > 0 else ""
        return Verdict("keep", f"{shown}: better by {delta:.3g}{beyond}")
    if delta > 0 and len(finite) == 1 and noise > 0:
        return Verdict("confirm", f"{shown}: better by {delta:.3g}, inside the noise margin {margin:.3g}; "
                                  "re-running it once to confirm")
    if delta > 0:
        return Verdict("discard", f"{shown}: better by only {delta:.3g}, inside the noise margin {margin:.3g}")
    return Verdict("discard", f"{shown}: not better")
