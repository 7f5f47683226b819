"""How values and parameter sets are written for people: one style in every view and message."""

from __future__ import annotations

from typing import Any


def fmt_value(value: Any, missing: str = "—", digits: int = 4) -> str:
    """Floats to `digits` significant digits, None as `missing`, anything else as str()."""
    if value is None:
        return missing
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def fmt_params(params: dict[str, Any]) -> str:
    """`lr=0.003, epochs=5` — how a trial's parameters read in logs, commits and tables."""
    return ", ".join(f"{k}={fmt_value(v)}" for k, v in params.items())


def params_against_first(params: dict[str, Any], first: dict[str, Any] | None, is_first: bool) -> str:
    """A trial's parameters for a table: trial 1 (the defaults) in full, later trials by what they
    change from it, which is what tells trials apart in a narrow column."""
    if is_first or not first:
        return fmt_params(params)
    changed = {k: v for k, v in params.items() if first.get(k) != v}
    return fmt_params(changed) if changed else "same as trial 1"


def fmt_bytes(size: float) -> str:
    """A size as people read it: 512 B, 3.2 MiB, 1.5 GiB."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(size) < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"
