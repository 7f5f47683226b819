"""Last-resort ranges for parameters that arrive without a suggested range.

Discovery normally fills `Param.low/high/log`; this covers parameters declared only in
configuration, so a space can still be built.
"""

from __future__ import annotations

from typing import Any


def fallback_range(name: str, type_: str, default: Any) -> tuple[Any, Any, bool]:
    try:
        from aft_tui.target.ranges import suggest_range  # richer heuristics when available
    except ImportError:  # pragma: no cover - ranges ships with the package
        suggest_range = None
    if suggest_range is not None:
        from aft_tui.target.params import Param

        suggestion = suggest_range(Param(name=name, type=type_, default=default))  # type: ignore[arg-type]
        if suggestion is not None:
            low, high, log = _unpack(suggestion)
            if low is not None:
                return low, high, log
    if not isinstance(default, (int, float)) or isinstance(default, bool):
        return None, None, False
    if default == 0:
        return (0, 10, False) if type_ == "int" else (0.0, 1.0, False)
    if type_ == "int":
        return max(1, default // 3), default * 3, False
    if default > 0:
        return default / 10, default * 10, True
    return default * 10, default / 10, False


def _unpack(suggestion: Any) -> tuple[Any, Any, bool]:
    if isinstance(suggestion, tuple):
        low, high, *rest = suggestion
        return low, high, bool(rest[0]) if rest else False
    return getattr(suggestion, "low", None), getattr(suggestion, "high", None), bool(getattr(suggestion, "log", False))
