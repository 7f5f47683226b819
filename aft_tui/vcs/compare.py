"""Compare two trials: what parameters changed, what the metrics did, and what code changed.

The parameter file is left out of the code diff because the parameter changes are already
listed, one per line, which reads better than a JSON diff.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aft_tui.vcs.workspace import PARAMS_FILE, Workspace
from aft_tui.formatting import fmt_value

UNSET = "(unset)"


def _shown(value: Any) -> str:
    return fmt_value(value, missing=UNSET, digits=6)


@dataclass
class Comparison:
    sha_a: str
    sha_b: str
    param_changes: list[tuple[str, Any, Any]] = field(default_factory=list)
    """(name, value in a, value in b) for each parameter that differs; None where unset."""
    metric_changes: list[tuple[str, Any, Any, float | None]] = field(default_factory=list)
    """(name, a, b, b - a) for every metric either trial reported; delta None unless both are numbers."""
    code_diff: str = ""
    unchanged_params: list[str] = field(default_factory=list)

    def render_text(self) -> str:
        """Plain text for terminals, logs and the headless CLI."""
        lines = [f"Comparing {self.sha_a[:10]} -> {self.sha_b[:10]}", "", "Parameters"]
        if self.param_changes:
            width = max(len(name) for name, _, _ in self.param_changes)
            for name, a, b in self.param_changes:
                lines.append(f"  {name:<{width}}  {_shown(a)} -> {_shown(b)}")
        else:
            lines.append("  (no parameter changes)")
        if self.unchanged_params:
            lines.append(f"  unchanged: {', '.join(self.unchanged_params)}")
        lines += ["", "Metrics"]
        if self.metric_changes:
            width = max(len(name) for name, *_ in self.metric_changes)
            for name, a, b, delta in self.metric_changes:
                tail = f"  ({_fmt_delta(delta)})" if delta is not None else ""
                lines.append(f"  {name:<{width}}  {_shown(a)} -> {_shown(b)}{tail}")
        else:
            lines.append("  (no metrics)")
        lines += ["", "Code"]
        if self.code_diff.strip():
            lines += ["  " + line if line else "" for line in self.code_diff.rstrip("\n").splitlines()]
        else:
            lines.append("  (no code changes)")
        return "\n".join(lines) + "\n"


def compare(
    ws: Workspace,
    sha_a: str,
    sha_b: str,
    params_a: Mapping[str, Any],
    params_b: Mapping[str, Any],
    metrics_a: Mapping[str, Any],
    metrics_b: Mapping[str, Any],
    *,
    params_file: str = PARAMS_FILE,
) -> Comparison:
    """Parameter, metric and code differences between the trials committed at sha_a and sha_b."""
    param_changes: list[tuple[str, Any, Any]] = []
    unchanged: list[str] = []
    for name in _ordered_union(params_a, params_b):
        a, b = params_a.get(name), params_b.get(name)
        if _same(a, b):
            unchanged.append(name)
        else:
            param_changes.append((name, a, b))
    metric_changes = [
        (name, metrics_a.get(name), metrics_b.get(name), _delta(metrics_a.get(name), metrics_b.get(name)))
        for name in _ordered_union(metrics_a, metrics_b)
    ]
    code = ws.diff(sha_a, sha_b, exclude=[params_file])
    return Comparison(
        sha_a=sha_a,
        sha_b=sha_b,
        param_changes=param_changes,
        metric_changes=metric_changes,
        code_diff=code,
        unchanged_params=unchanged,
    )


def _ordered_union(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[str]:
    """Keys of a in their order, then keys only b has: keeps the search space's order."""
    return list(a) + [key for key in b if key not in a]


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _same(a: Any, b: Any) -> bool:
    if _is_number(a) and _is_number(b):
        return a == b or (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b))
    return type(a) is type(b) and a == b


def _delta(a: Any, b: Any) -> float | None:
    if _is_number(a) and _is_number(b):
        return b - a
    return None


def _fmt_delta(delta: float) -> str:
    if isinstance(delta, float):
        return f"{delta:+.4g}"
    return f"{delta:+d}"
