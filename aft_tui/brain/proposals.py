"""Parameter proposals from a model: parse the JSON, check it against the search space.

A proposal that is not JSON, names unknown parameters or leaves the space is rejected here,
before anything runs, with a sentence that says exactly what was wrong.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from aft_tui.tuning.space import SearchSpace


class ProposalRejected(ValueError):
    """The model's proposal cannot be used; the message says why in one sentence."""


@dataclass
class ParsedProposal:
    params: dict[str, Any]
    rationale: str
    keep_optimizer: bool = False


def first_json_object(text: str) -> dict[str, Any]:
    """The first JSON object in `text` (models wrap JSON in prose or code fences)."""
    text = text.strip()
    try:
        value = json.loads(text)
        if isinstance(value, dict):
            return value
    except json.JSONDecodeError:
        pass
    decoder = json.JSONDecoder()
    start = text.find("{")
    while start != -1:
        try:
            value, _ = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            start = text.find("{", start + 1)
            continue
        if isinstance(value, dict):
            return value
        start = text.find("{", start + 1)
    raise ProposalRejected("the reply contained no JSON object")


def parse_proposal(text: str, space: SearchSpace, *, allow_keep: bool = False) -> ParsedProposal:
    """Parse and validate; raise ProposalRejected naming the first problem."""
    data = first_json_object(text)
    rationale = str(data.get("rationale") or data.get("reason") or "").strip()
    action = str(data.get("action") or "").lower()
    if allow_keep and action in ("accept", "keep", "agree", "optimizer"):
        return ParsedProposal({}, rationale or "the model agreed with the optimizer", keep_optimizer=True)
    params = data.get("params", data.get("parameters"))
    if not isinstance(params, dict) or not params:
        raise ProposalRejected('the JSON has no "params" object with parameter values')
    coerced = {name: _coerce(value, space.get(name)) for name, value in params.items()}
    problems = space.validate(coerced)
    if problems:
        raise ProposalRejected("; ".join(problems))
    if not rationale:
        rationale = "no reason given"
    return ParsedProposal(coerced, rationale)


def _coerce(value: Any, dim: Any) -> Any:
    """Accept the obvious spellings models use ("1e-3", 32.0 for an int, "true")."""
    if dim is None:
        return value
    if dim.kind == "categorical":
        if value in (dim.choices or []):
            return value
        for choice in dim.choices or []:
            if str(choice).lower() == str(value).lower():
                return choice
        return value
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return value
    if isinstance(value, (int, float)) and dim.kind == "int" and math.isfinite(value) and float(value).is_integer():
        return int(value)
    if isinstance(value, int) and dim.kind == "float":
        return float(value)
    return value


def space_for_prompt(space: SearchSpace) -> list[dict[str, Any]]:
    """The search space as the model sees it: names, kinds, ranges, defaults."""
    rows = []
    for dim in space:
        row: dict[str, Any] = {"name": dim.name, "type": dim.kind, "default": dim.default}
        if dim.kind == "categorical":
            row["choices"] = list(dim.choices or [])
        else:
            row.update(low=dim.low, high=dim.high, log_scale=dim.log)
        rows.append(row)
    return rows
