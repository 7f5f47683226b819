"""Rich tables shared by the CLI views (runs list)."""

from __future__ import annotations

from typing import Any
from aft_tui.formatting import fmt_value, params_against_first


def runs_table(results: list[dict[str, Any]], title: str = "Trials") -> Any:
    from rich.table import Table

    table = Table(title=title)
    # Within one session the run id's session prefix is in the title: show t001, not the full id.
    session_title = len({r.get("session") for r in results}) == 1
    metric = next((r.get("metric") for r in results if r.get("metric")), None) or "metric"
    params_col = "params (changes from trial 1)"
    nodes = any(isinstance(r.get("node"), dict) for r in results)  # trials that ran on a cluster
    columns = [("#", "right"), ("run", "left"), ("status", "left"), (metric, "right"), (params_col, "left"),
               ("duration", "right"), ("commit", "left")] + ([("node", "left")] if nodes else [])
    for col, justify in columns:
        table.add_column(col, justify=justify, no_wrap=col != params_col,  # type: ignore[arg-type]
                         overflow="fold" if col == params_col else "ellipsis")
    best = _best(results)
    firsts = {r.get("session"): r.get("params") or {} for r in results if r.get("number") == 1}
    for r in sorted(results, key=lambda r: (r.get("session", ""), r.get("number", 0))):
        params = params_against_first(r.get("params") or {}, firsts.get(r.get("session")), r.get("number") == 1)
        status = r.get("status", "")
        style = "bold green" if best is not None and r is best else {"failed": "red", "timeout": "red",
                                                                      "pruned": "yellow", "cancelled": "dim"}.get(status)
        run = r.get("run_id", "")
        if session_title and run.startswith(r.get("session", "") + "-"):
            run = run[len(r.get("session", "")) + 1:]
        cells = [str(r.get("number", "")), run, status + (" ★" if r is best else ""), fmt_value(r.get("value")), params,
                 f"{r.get('duration', 0):.1f}s", (r.get("commit") or "")[:10]]
        if nodes:
            cells.append(_node(r.get("node")))
        table.add_row(*cells, style=style)
    return table


def _node(node: Any) -> str:
    """Where a cluster trial ran; '↻ from X' when it re-ran there after node X was lost."""
    if not isinstance(node, dict):
        return ""
    where = str(node.get("node_ip") or "")
    lost = node.get("lost_node")
    return f"{where} ↻ from {lost.get('node_ip')}" if isinstance(lost, dict) and lost.get("node_ip") else where


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


def discovery_report(console: Any, discovery: Any) -> None:
    """`aft inspect`: parameters with where and how they are set, then what else was found."""
    from rich import box
    from rich.table import Table

    narrow = console.width < 100
    # At 80 columns the frame alone would take a quarter of the width: rules between columns only.
    table = Table(title=f"Tunable parameters in {discovery.target}", box=box.SIMPLE_HEAD if narrow else box.HEAVY_HEAD,
                  show_edge=not narrow, pad_edge=not narrow, collapse_padding=narrow)
    # The name is what a person types (`--set trainer.weight_decay=…`): it never wraps or shortens, up to
    # half the width; the default and where it is set give way first.
    widest = max((len(p.name) for p in discovery.params), default=4)
    table.add_column("name", no_wrap=True, min_width=min(widest, max(console.width // 2, 12)))
    table.add_column("type", no_wrap=True)
    table.add_column("default", no_wrap=True, overflow="ellipsis", max_width=10 if narrow else 24)
    table.add_column("set by", no_wrap=True)
    table.add_column("location", no_wrap=True)
    ranges = [_suggested_range(p) for p in discovery.params]
    table.add_column("range" if narrow else "suggested range")
    for p, rng in zip(discovery.params, ranges):
        tuned = p.extra.get("tunable", True)
        # At 80 columns a folder in every location costs a line per row; the file name and line still find it.
        location = p.location.rsplit("/", 1)[-1] if narrow else p.location
        table.add_row(p.name, p.type, repr(p.default), p.source, location, rng,
                      style=None if tuned else "dim")
    console.print(table)
    console.print(f"Framework: {discovery.framework}. Sets a seed: {'yes' if discovery.sets_seed else 'no'}.")
    console.print(f"Metrics: {', '.join(discovery.metrics) or 'none found statically'}.", highlight=False)
    if discovery.model_saves:
        console.print("Saves its model: " + "; ".join(f"{c} at {loc}" for c, loc in discovery.model_saves), highlight=False)
    if discovery.config_files:
        console.print("Reads config: " + ", ".join(discovery.config_files), highlight=False)
    for name, location, reason in discovery.skipped:
        console.print(f"Skipped {name} ({location}): {reason}", style="yellow", highlight=False)
    if discovery.hint:
        console.print(discovery.hint, style="yellow", highlight=False)


def _suggested_range(p: Any) -> str:
    if not p.extra.get("tunable", True):
        return "not tuned"
    if p.choices:
        return "{" + ", ".join(map(str, p.choices)) + "}"
    if p.low is not None and p.high is not None:
        return f"{fmt_value(p.low)} … {fmt_value(p.high)}" + (" (log)" if p.log else "")
    return ""
