"""A metric report as AFT keeps it, read from a dict: the `AFT_METRICS` file a refactored script
appends to, and the dicts a script prints or writes itself (Trainer result files).

The metrics file is strict (a bad line is reported, a string value is a mistake); printed dicts
and result files are read leniently (numbers written as strings count), because a script that
was not changed for AFT writes them as its framework does.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aft_tui.metric_names import normalise_name

EPOCH_KEYS = frozenset({"epoch", "train_epoch", "current_epoch"})
STEP_KEYS = frozenset({"step", "global_step", "iteration", "iter", "train_step", "trainer/global_step"})
# Bookkeeping values some frameworks print next to real metrics.
IGNORED_KEYS = frozenset({"v_num"})
# Nested objects under these keys hold the metrics themselves, not a namespace.
_TRANSPARENT_KEYS = frozenset({"metrics", "values"})

NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
SPECIAL = r"[-+]?(?i:nan|inf(?:inity)?)"
"""How a number and a non-finite value are printed, as regular expressions."""
_NUMERIC_STRING_RE = re.compile(SPECIAL + "|" + NUMBER)


@dataclass
class MetricRecord:
    values: dict[str, float]
    step: int | None = None
    epoch: float | None = None
    source: str = "stdout"
    raw: str = ""


def as_step(value: float) -> int | None:
    """A step counter from a reported number; a non-finite one counts no step."""
    return int(value) if math.isfinite(value) else None


def from_mapping(
    mapping: Mapping[Any, Any], prefix: str = "", depth: int = 0, numeric_strings: bool = False
) -> tuple[dict[str, float], int | None, float | None]:
    """Values, step and epoch of a dict; `numeric_strings` reads `'7.128'` as a number, as TRL and
    recent Trainers print their log dicts (the metrics file stays strict: a string there is a mistake)."""
    values: dict[str, float] = {}
    step: int | None = None
    epoch: float | None = None
    for raw_key, value in mapping.items():
        key = normalise_name(str(raw_key))
        if isinstance(value, Mapping):
            if depth < 2:
                inner_prefix = prefix if key.lower() in _TRANSPARENT_KEYS else f"{prefix}{key}/"
                inner, inner_step, inner_epoch = from_mapping(value, inner_prefix, depth + 1, numeric_strings)
                values.update(inner)
                step = step if inner_step is None else inner_step
                epoch = epoch if inner_epoch is None else inner_epoch
            continue
        if numeric_strings and isinstance(value, str) and _NUMERIC_STRING_RE.fullmatch(value.strip()):
            value = float(value)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        try:
            number = float(value)
        except OverflowError:  # an integer too large for a float is no metric
            continue
        if not prefix and key in EPOCH_KEYS:
            epoch = number
        elif not prefix and key in STEP_KEYS:
            step = as_step(number)
        elif key not in IGNORED_KEYS:
            values.setdefault(prefix + key, number)
    return values, step, epoch


def values_of_mapping(mapping: Mapping[Any, Any]) -> tuple[dict[str, float], int | None, float | None]:
    """(values, step, epoch) of a dict a script wrote itself (Trainer result files), read as
    leniently as its printed dicts: numbers written as strings count."""
    return from_mapping(mapping, numeric_strings=True)

# ---------------------------------------------------------------- metrics file


def parse_metrics_file_line(line: str) -> MetricRecord:
    """One line of the `AFT_METRICS` file; ValueError says what is wrong with it.

    The reason reads as the end of a sentence ("line 3 is not valid JSON: ...").
    """
    text = line.strip()
    if not text:
        raise ValueError("is empty")
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"is not valid JSON: {exc.msg} at column {exc.colno}") from None
    except RecursionError:
        raise ValueError("is not valid JSON: it is nested too deeply") from None
    except ValueError as exc:  # e.g. an integer with more digits than Python converts
        raise ValueError(f"is not valid JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise ValueError(f"is a JSON {_json_type(obj)}, not an object like {{\"val_loss\": 0.5}}")
    values, step, epoch = from_mapping(obj)
    if not values:
        raise ValueError("has no numeric metric value")
    return MetricRecord(values=values, step=step, epoch=epoch, source="file", raw=text)


def _json_type(obj: object) -> str:
    if isinstance(obj, list):
        return "list"
    if isinstance(obj, str):
        return "string"
    if isinstance(obj, bool):
        return "boolean"
    if obj is None:
        return "null"
    return "number"
