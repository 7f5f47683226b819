"""Reading metrics a training script reports, and guessing which one to optimise.

Two sources feed the tuner. A refactored script appends JSON objects to the file named by
`AFT_METRICS` (`metric_records`: strict, a bad line is reported). A script that cannot be changed
is read from its stdout (`metric_lines`: forgiving but conservative). What a name means (a loss,
an accuracy, held-out or not, which reported name an objective refers to) is `aft_tui.metric_names`.
This module is the one place the rest of AFT imports all three from.
"""

from __future__ import annotations

from typing import Any

from aft_tui.metric_names import (
    QUALIFIER_WORDS,
    choose_objective,
    direction_for,
    find_metric,
    is_held_out,
    label_name,
    looks_like_metric,
    metric_words,
    normalise_name,
)
from aft_tui.runs.metric_lines import last_redraw, may_hold_metrics, parameter_names, parse_line
from aft_tui.runs.metric_records import (
    EPOCH_KEYS,
    IGNORED_KEYS,
    STEP_KEYS,
    MetricRecord,
    parse_metrics_file_line,
    values_of_mapping,
)


def rows_as_requested(rows: list[dict[str, Any]], requested: str | None) -> list[dict[str, Any]]:
    """History rows with the value the objective refers to (find_metric) under the objective's own
    name, for a trial judged after its run; rows already carrying the name come back unchanged."""
    if not requested or any(requested in row for row in rows):
        return rows
    name = find_metric(requested, (k for row in rows for k in row if k not in ("epoch", "step")))
    if name is None:
        return rows
    return [{(requested if k == name else k): v for k, v in row.items()} for row in rows]


__all__ = [
    "EPOCH_KEYS",
    "IGNORED_KEYS",
    "QUALIFIER_WORDS",
    "STEP_KEYS",
    "MetricRecord",
    "parse_line",
    "parse_metrics_file_line",
    "choose_objective",
    "direction_for",
    "find_metric",
    "is_held_out",
    "label_name",
    "last_redraw",
    "looks_like_metric",
    "may_hold_metrics",
    "metric_words",
    "normalise_name",
    "parameter_names",
    "rows_as_requested",
    "values_of_mapping",
]
