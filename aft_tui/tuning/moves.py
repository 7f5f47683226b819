"""Positions and steps inside a search space, measured on a common unit scale.

Rule-based strategies (coordinate descent, advice from the curve analysis) and the failure
guard all need the same geometry: "one step up in the learning rate", "is this point close to
one that crashed". Every numeric dimension is mapped onto [0, 1] (on a log scale when the
dimension is logarithmic), so a step of 0.1 means the same share of the range whatever the
parameter's units; categorical dimensions only compare for equality.
"""

from __future__ import annotations

import math
from typing import Any

from aft_tui.tuning.space import Dimension, SearchSpace

TOLERANCE = 1e-6
"""Two numeric values closer than this on the unit scale are the same setting."""


def _bounds(dim: Dimension) -> tuple[float, float]:
    low, high = float(dim.low), float(dim.high)
    if dim.log:
        return math.log(low), math.log(high)
    return low, high


def to_unit(dim: Dimension, value: Any) -> float:
    """Where `value` sits in the dimension's range, 0 at the low end and 1 at the high end."""
    low, high = _bounds(dim)
    x = float(value)
    if dim.log:
        x = math.log(max(x, float(dim.low)))
    if high == low:
        return 0.0
    return min(1.0, max(0.0, (x - low) / (high - low)))


def from_unit(dim: Dimension, u: float) -> Any:
    """The value at position `u` of the range (clipped to it; integers rounded)."""
    low, high = _bounds(dim)
    x = low + min(1.0, max(0.0, u)) * (high - low)
    if dim.log:
        x = math.exp(x)
    x = min(float(dim.high), max(float(dim.low), x))
    if dim.kind == "int":
        return int(round(x))
    return _readable(dim, x)


def _readable(dim: Dimension, x: float) -> float:
    """Four significant digits (proposals end up in commit messages), kept inside the range."""
    if x == 0 or not math.isfinite(x):
        return float(x)
    rounded = float(f"{x:.4g}")
    return min(float(dim.high), max(float(dim.low), rounded))


def step(dim: Dimension, value: Any, direction: int, size: float) -> Any | None:
    """`value` moved by `size` of the unit range in `direction` (+1 up, -1 down).

    Integers move by at least 1 so a small step is never a no-op; a move that would leave
    the range stops at its edge, and a move that cannot change the value returns None.
    """
    if dim.kind == "categorical" or direction == 0:
        return None
    moved = from_unit(dim, to_unit(dim, value) + direction * size)
    if dim.kind == "int":
        current = int(round(float(value)))
        if moved == current:
            moved = min(int(dim.high), max(int(dim.low), current + direction))
        return None if moved == current else int(moved)
    if abs(to_unit(dim, moved) - to_unit(dim, value)) <= TOLERANCE:
        return None
    return moved


def same_value(dim: Dimension, a: Any, b: Any) -> bool:
    if dim.kind == "categorical":
        return a == b
    try:
        return abs(to_unit(dim, a) - to_unit(dim, b)) <= TOLERANCE
    except (TypeError, ValueError):
        return a == b


def same_point(space: SearchSpace, a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two assignments set every tuned parameter to the same value."""
    for dim in space:
        if dim.name not in a or dim.name not in b or not same_value(dim, a[dim.name], b[dim.name]):
            return False
    return True


def distance(space: SearchSpace, a: dict[str, Any], b: dict[str, Any]) -> float:
    """The largest per-parameter gap on the unit scale; infinite when a categorical value differs."""
    worst = 0.0
    for dim in space:
        if dim.name not in a or dim.name not in b:
            return math.inf
        if dim.kind == "categorical":
            if a[dim.name] != b[dim.name]:
                return math.inf
            continue
        try:
            gap = abs(to_unit(dim, a[dim.name]) - to_unit(dim, b[dim.name]))
        except (TypeError, ValueError):
            return math.inf
        worst = max(worst, gap)
    return worst


def in_space(space: SearchSpace, params: dict[str, Any]) -> bool:
    return all(dim.name in params for dim in space) and not space.validate(params)
