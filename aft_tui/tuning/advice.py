"""Turning the curve analysis into parameter moves.

The analyzer states its advice per *kind* of hyperparameter (``{"epochs": "increase"}``,
``{"learning_rate": "decrease"}``); a script calls them whatever it likes (``--lr``,
``--num-train-epochs``, ``--lora-dropout``). `param_kind` bridges the two by name, and
`suggested_moves` lists the moves a run's findings ask for on the parameters this search
space actually tunes. `advised_point` applies them to the best trial so far; the strategies
that act on them are `advised.py` (the model-based samplers) and `coordinate.py`.
"""


from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from aft_tui.tuning import moves
from aft_tui.tuning.space import SearchSpace
from aft_tui.tuning.base import Choice
from aft_tui.formatting import fmt_value

ADVICE_STEP = 0.15
"""A move asked for by the analysis changes a parameter by 15% of its (unit-scaled) range."""

_LR_NAMES = {"lr", "learning_rate", "learningrate", "eta", "step_size", "base_lr", "max_lr", "init_lr", "lr0"}
_EPOCH_NAMES = {"max_steps", "num_steps", "steps", "train_steps", "iterations", "iters", "n_iter", "max_iter",
                "num_iterations", "max_iters"}
_DECAY_NAMES = {"weight_decay", "wd", "l2", "l2_reg", "l2_penalty", "reg", "reg_lambda", "lambda_l2", "decay"}
_BATCH_NAMES = {"bs", "batch", "batch_size", "per_device_train_batch_size", "train_batch_size", "micro_batch_size"}
_CAPACITY_TOKENS = {"hidden", "width", "units", "layers", "depth", "channels", "filters", "neurons", "heads",
                    "features", "leaves", "estimators", "rank"}
_CAPACITY_NAMES = {"r", "lora_r", "d_model", "dim", "hidden_dim", "embed_dim", "max_depth"}


def param_kind(name: str) -> str | None:
    """The analyzer's name for what a parameter controls (learning_rate, epochs, ...), or None."""
    n = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    tokens = set(n.split("_"))
    if n in _LR_NAMES or "lr" in tokens or n.endswith("learning_rate"):
        return "learning_rate"
    if "epochs" in tokens or "epoch" in tokens or n in _EPOCH_NAMES:
        return "epochs"
    if n in _DECAY_NAMES or {"weight", "decay"} <= tokens or "l2" in tokens:
        return "weight_decay"
    if "dropout" in tokens or n in {"drop_rate", "p_drop", "drop_prob"}:
        return "dropout"
    if n in _BATCH_NAMES or ("batch" in tokens and "size" in tokens):
        return "batch_size"
    if n in _CAPACITY_NAMES or tokens & _CAPACITY_TOKENS:
        return "model_capacity"
    return None


@dataclass
class Move:
    """One change a finding asks for: `param` goes up (+1) or down (-1)."""

    param: str
    direction: int
    kind: str
    code: str  # the finding's code (still_improving, diverged, ...)
    sentence: str


def suggested_moves(findings: list[dict[str, Any]], space: SearchSpace) -> list[Move]:
    """The moves the findings ask for on tuned numeric parameters, most severe finding first."""
    out: list[Move] = []
    seen: set[str] = set()
    for finding in findings or []:
        suggestion = finding.get("suggestion") or {}
        for dim in space:
            if dim.kind == "categorical" or dim.name in seen:
                continue
            kind = param_kind(dim.name)
            verdict = suggestion.get(kind) if kind else None
            if verdict not in ("increase", "decrease"):
                continue
            seen.add(dim.name)
            out.append(Move(dim.name, 1 if verdict == "increase" else -1, kind or "", str(finding.get("code", "")),
                            str(finding.get("sentence", ""))))
    return out


def move_for(findings: list[dict[str, Any]], space: SearchSpace, name: str) -> Move | None:
    """The move the findings ask for on parameter `name`, or None when they say nothing about it."""
    for move in suggested_moves(findings, space):
        if move.param == name:
            return move
    return None


def best_record(records: list[dict[str, Any]], direction: str) -> dict[str, Any] | None:
    """The successful trial with the best value (the earliest on ties)."""
    best = None
    sign = 1 if direction == "max" else -1
    for record in sorted(records, key=lambda r: r.get("number") or 0):
        value = record.get("value")
        if record.get("status") != "ok" or not isinstance(value, (int, float)) or not math.isfinite(value):
            continue
        if best is None or sign * value > sign * best["value"]:
            best = record
    return best


def objective_direction(records: list[dict[str, Any]]) -> str:
    return next((r["direction"] for r in reversed(records) if r.get("direction") in ("min", "max")), "max")


def tried(space: SearchSpace, params: dict[str, Any], records: list[dict[str, Any]],
          pending: list[dict[str, Any]] | None = None) -> bool:
    """Whether these parameters already ran (or are running)."""
    points = [r.get("params") or {} for r in records] + list(pending or [])
    return any(moves.same_point(space, params, p) for p in points)


def advised_point(records: list[dict[str, Any]], space: SearchSpace, size: float = ADVICE_STEP,
                  pending: list[dict[str, Any]] | None = None) -> Choice | None:
    """The best trial's parameters with its first actionable finding applied, if untried."""
    from aft_tui.tuning.failures import near_failure

    direction = objective_direction(records)
    best = best_record(records, direction)
    if best is None or not best.get("findings"):
        return None
    base = {d.name: (best.get("params") or {}).get(d.name, d.default) for d in space}
    for finding in best["findings"]:
        params = dict(base)
        applied = []
        for move in suggested_moves([finding], space):
            dim = space.get(move.param)
            new = moves.step(dim, params[move.param], move.direction, size) if dim is not None else None
            if new is None:
                continue
            applied.append(f"{move.param} {fmt_value(params[move.param])} → {fmt_value(new)}")
            params[move.param] = new
        if not applied or tried(space, params, records, pending) or near_failure(space, params, records):
            continue
        sentence = str(finding.get("sentence", "")).rstrip(".")
        rationale = f"the analysis of trial {best.get('number')} (the best so far) says: {sentence}; so {', '.join(applied)}"
        return Choice(params, rationale, "analysis", {"finding": finding.get("code"), "from_trial": best.get("number")})
    return None
