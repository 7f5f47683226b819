"""A run's objective value from the series of values it reported.

Most scripts report a validation metric once per epoch and the last one is the run's result.
Some report a noisy value per episode or per batch (an RL return, a single batch's loss), where
the last value is one draw of the noise: comparing trials by it ranks luck, not settings. A
window averages the last few reports instead (`--metric-window 10`), the way practitioners
score such runs.
"""

from __future__ import annotations

import math
from typing import Any, Sequence


def final_value(values: Sequence[Any], window: int | None = None) -> Any:
    """The last value, or the mean of the last `window` values.

    A non-finite value inside the window is returned as it is, so a run that diverged at the end
    still reads as diverged rather than as the average of what came before.
    """
    if not values:
        return None
    if not window or window <= 1:
        return values[-1]
    tail = list(values[-window:])
    for value in reversed(tail):
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
            return value
    return sum(float(v) for v in tail) / len(tail)
