"""The epoch-to-epoch noise of a learning curve, as a standard deviation.

One estimate serves the curve analysis (is a change bigger than the noise?), the end conditions
(did the best improve by more than the noise?) and the pruner (is a trial worse than the median
by more than the noise?), so all three call the same scatter "noise". Standard library only: the
pruner runs it inside Optuna's callbacks.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

_SG5 = (-3 / 35, 12 / 35, 17 / 35, 12 / 35, -3 / 35)
"""Savitzky-Golay weights: the value of a quadratic fitted to 5 neighbouring points."""


def median(values: Sequence[float]) -> float:
    s = sorted(values)
    m = len(s) // 2
    return s[m] if len(s) % 2 else (s[m - 1] + s[m]) / 2


def curve_noise(ys: Sequence[float], quadratic: bool = True) -> float | None:
    """Robust epoch-to-epoch noise, as a standard deviation; None below 5 points.

    Residuals are taken around a local quadratic (5 points) so the honest curvature of a
    fast-learning curve is not mistaken for noise; with 5 or 6 points, or `quadratic=False`,
    around a local straight line (3 points). The median absolute residual keeps one bad epoch
    from inflating it. The end conditions and the pruner use the straight line: a smooth curve
    bending gently then reads as no noise, so they demand no margin where none was seen.
    """
    n = len(ys)
    if n < 5:
        return None
    if n >= 7 and quadratic:
        residuals = [ys[i] - sum(w * ys[i + j - 2] for j, w in enumerate(_SG5)) for i in range(2, n - 2)]
        variance_factor = 630 / 1225  # var(residual) / sigma^2 for white noise
    else:
        residuals = [ys[i] - (ys[i - 1] + ys[i + 1]) / 2 for i in range(1, n - 1)]
        variance_factor = 1.5
    # 1.4826 turns a median absolute deviation into a standard deviation (normal noise).
    return 1.4826 * median([abs(r) for r in residuals]) / math.sqrt(variance_factor)
