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
