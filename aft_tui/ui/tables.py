"""Rich tables shared by the CLI views (runs list)."""

from __future__ import annotations

from typing import Any


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def runs_table(results: list[dict[str, Any]], title: str = "Trials") -> Any:
    from rich.table import Table

    table = Table(title=title)
    metric = next((r.get("metric") for r in results if r.get("metric")), None) or "metric"
    for col, justify in (("#", "right"), ("run", "left"), ("status", "left"), (metric, "right"),
                         ("params", "left"), ("duration", "right"), ("commit", "left")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    best = _best(results)
    for r in sorted(results, key=lambda r: (r.get("session", ""), r.get("number", 0))):
        params = ", ".join(f"{k}={_fmt(v)}" for k, v in (r.get("params") or {}).items())
        status = r.get("status", "")
        style = "bold green" if best is not None and r is best else {"failed": "red", "timeout": "red",
                                                                      "pruned": "yellow", "cancelled": "dim"}.get(status)
        table.add_row(str(r.get("number", "")), r.get("run_id", ""), status + (" ★" if r is best else ""),
                      _fmt(r.get("value")), params, f"{r.get('duration', 0):.1f}s", (r.get("commit") or "")[:10],
                      style=style)
    return table


def _best(results: list[dict[str, Any]]) -> dict[str, Any] | None:
    import math

    best = None
    for r in results:
        v = r.get("value")
        if r.get("status") != "ok" or not isinstance(v, (int, float)) or not math.isfinite(v):
            continue
        if best is None or (v > best["value"] if r.get("direction") == "max" else v < best["value"]):
            best = r
    return best
