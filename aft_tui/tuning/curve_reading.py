"""The statistics the curve analysis states its findings with (see `aft_tui.tuning.analyzer`):
one metric's series, its trend over the tail, its scale, and numbers formatted for a sentence.

The thresholds are named here, once, so the analysis, the strategies and the tests use the same.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

from aft_tui.tuning.noise import curve_noise, median

MIN_POINTS = 3
"""Fewer evaluations than this cannot show a trend: the analysis says so and stops."""

TAIL_FRACTION = 1 / 3
"""The trend is read over the last third of the evaluations (never fewer than 3)."""

SIGNIFICANCE_Z = 2.0
"""A change counts only beyond 2 standard errors of the estimated epoch-to-epoch noise."""

MEANINGFUL_REL = 0.02
"""Changes below 2% of the metric's scale over the tail are "no meaningful change"."""

OVERFIT_REL = 0.02
"""Validation must end at least 2% (of its scale) worse than its best to call overfitting..."""

OVERFIT_WARN_REL = 0.10
"""...and at least 10% worse for it to be a warning rather than a note (mild overfitting)."""

UNDERFIT_REL = 0.10
"""Underfitting: the training metric improved by less than 10% of its start (losses) or of
its headroom ``1 - start`` (scores bounded in [0, 1]), and validation did no better."""

EXPLODE_FACTOR = 1.5
"""A loss whose tail median exceeds 1.5x its first value has exploded (diverged)."""


@dataclass
class Series:
    """One metric's finite-or-not values in history order, with where each was recorded."""

    name: str
    sign: int  # +1 when larger is better, -1 when smaller is better
    ys: list[float]
    records: list[dict[str, Any]]
    axis: str  # epoch | step | index: what labels a point for people
    pos: list[int]  # each point's index in the history, which aligns train and validation

    @property
    def n(self) -> int:
        return len(self.ys)

    @property
    def bounded_score(self) -> bool:
        return self.sign > 0 and all(0.0 <= y <= 1.0 for y in self.ys if math.isfinite(y))

    def label(self, i: int) -> str:
        if self.axis == "epoch":
            return f"epoch {fmt_epoch(self.records[i]['epoch'])}"
        if self.axis == "step":
            return f"step {int(as_number(self.records[i]['step']) or 0)}"
        return f"evaluation {i + 1}"

    def epoch_of(self, i: int) -> int | None:
        """Epochs needed to reach point i (fractional epochs round up); None without epochs."""
        if self.axis != "epoch":
            return None
        return int(math.ceil(as_number(self.records[i]["epoch"]) - 1e-9))

    def unit(self) -> str:
        if self.axis == "epoch":
            epochs = [as_number(r["epoch"]) for r in self.records]
            if all(e is not None and float(e).is_integer() for e in epochs) and len(set(epochs)) == len(epochs):
                return "epoch"
        return "evaluation"


def as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _choose_axis(records: Sequence[dict[str, Any]]) -> str:
    if records and all(as_number(r.get("epoch")) is not None for r in records):
        return "epoch"
    if records and all(as_number(r.get("step")) is not None for r in records):
        return "step"
    return "index"


def series_of(history: Sequence[dict[str, Any]], name: str, sign: int) -> Series:
    rows = [(i, r) for i, r in enumerate(history) if as_number(r.get(name)) is not None]
    records = [r for _, r in rows]
    ys = [as_number(r[name]) for r in records]
    return Series(name, sign, ys, records, _choose_axis(records), [i for i, _ in rows])  # type: ignore[arg-type]


def smoothed(ys: Sequence[float]) -> list[float]:
    """Centred 3-point mean (2-point at the ends), so one lucky epoch is not 'the best'."""
    out = []
    for i in range(len(ys)):
        window = ys[max(0, i - 1): i + 2]
        out.append(sum(window) / len(window))
    return out


def _slope(ys: Sequence[float]) -> float:
    k = len(ys)
    xbar = (k - 1) / 2
    ybar = sum(ys) / k
    sxx = sum((i - xbar) ** 2 for i in range(k))
    return sum((i - xbar) * (y - ybar) for i, y in enumerate(ys)) / sxx


def scale_of(value: float, series: Series) -> float:
    """The size a change is measured against (see the module docstring)."""
    magnitude = abs(1.0 - value) if series.bounded_score else abs(value)
    spread = max(series.ys) - min(series.ys)
    return max(magnitude, 0.1 * spread, 1e-12)


@dataclass
class Trend:
    kind: str  # improving | worsening | flat | unclear
    k: int
    start: float
    end: float
    change: float
    stderr: float | None
    threshold: float
    first: float  # raw values at the tail's ends, kept as evidence
    last: float


def read_trend(s: Series, sigma: float | None) -> Trend:
    k = min(s.n, max(MIN_POINTS, math.ceil(s.n * TAIL_FRACTION)))
    tail = s.ys[-k:]
    slope = _slope(tail)
    change = slope * (k - 1)
    mid = sum(tail) / k
    # The trend line's ends, not the raw first and last points: one noisy epoch at either end
    # would otherwise misstate the change the sentence reports.
    start, end = mid - slope * (k - 1) / 2, mid + slope * (k - 1) / 2
    threshold = MEANINGFUL_REL * scale_of(median(tail), s)
    stderr = None
    if sigma is None:
        steps = [s.sign * (b - a) for a, b in zip(tail, tail[1:])]
        if abs(change) < threshold:
            kind = "flat"
        elif all(d > 0 for d in steps):
            kind = "improving"
        elif all(d < 0 for d in steps):
            kind = "worsening"
        else:
            kind = "unclear"
    else:
        stderr = sigma * (k - 1) / math.sqrt(k * (k * k - 1) / 12)
        if abs(change) >= threshold and abs(change) >= SIGNIFICANCE_Z * stderr:
            kind = "improving" if s.sign * change > 0 else "worsening"
        elif abs(change) < threshold and SIGNIFICANCE_Z * stderr <= threshold:
            kind = "flat"
        else:
            kind = "unclear"
    return Trend(kind, k, start, end, change, stderr, threshold, tail[0], tail[-1])


def best_index(s: Series) -> int:
    return max(range(s.n), key=lambda i: (s.sign * s.ys[i], -i))


def relative_gain(s: Series, ys: Sequence[float]) -> float:
    """How much of the possible improvement the curve achieved (fraction; see UNDERFIT_REL)."""
    first = ys[0]
    best = max(ys) if s.sign > 0 else min(ys)
    gain = s.sign * (best - first)
    if s.bounded_score:
        headroom = 1.0 - first
        return gain / headroom if headroom > 0.05 else 1.0
    return gain / abs(first) if first else 1.0


def index_at(s: Series, pos: int) -> int:
    """Index of the last point of `s` recorded at or before history position `pos` (0 if none)."""
    idx = 0
    for i, p in enumerate(s.pos):
        if p <= pos:
            idx = i
    return idx


def improved(s: Series, i: int, j: int) -> bool:
    """Did `s` get meaningfully and significantly better from point i to point j (smoothed)?"""
    sm = smoothed(s.ys)
    sigma = curve_noise(s.ys) or 0.0
    gain = s.sign * (sm[j] - sm[i])
    return gain > max(SIGNIFICANCE_Z * sigma * math.sqrt(2), MEANINGFUL_REL * scale_of(sm[i], s))


# --------------------------------------------------------------------------- formatting


def fmt_number(value: float, digits: int = 3) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "infinity" if value > 0 else "-infinity"
    if value == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(value)))
    if magnitude >= 5 or magnitude < -3:
        return f"{value:.{digits - 1}e}"
    return f"{value:.{max(0, digits - 1 - magnitude)}f}"


def fmt_pair(a: float, b: float) -> tuple[str, str]:
    """Format two numbers with just enough digits to show that they differ."""
    for digits in range(3, 8):
        fa, fb = fmt_number(a, digits), fmt_number(b, digits)
        if fa != fb or a == b:
            return fa, fb
    return fa, fb


def fmt_epoch(value: Any) -> str:
    e = as_number(value) or 0.0
    return str(int(e)) if e.is_integer() else f"{e:.2f}"


def capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def plural(n: int, unit: str) -> str:
    return f"{n} {unit}" + ("" if n == 1 else "s")
