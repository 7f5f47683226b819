"""Turning the curve analysis into parameter moves, and the sampler strategies that use them.

The analyzer states its advice per *kind* of hyperparameter (``{"epochs": "increase"}``,
``{"learning_rate": "decrease"}``); a script calls them whatever it likes (``--lr``,
``--num-train-epochs``, ``--lora-dropout``). `param_kind` bridges the two by name, and
`suggested_moves` lists the moves a run's findings ask for on the parameters this search
space actually tunes.

`AdvisedSamplerStrategy` is how the model-based samplers (tpe, gp, cmaes) act on the
analysis: when the best trial so far says something actionable ("still improving at the last
epoch", "diverged", "overfitting") and the move it asks for has not been tried, that move is
a candidate for the next trial, along with a coordinate step around the best trial. Both
start from the best trial's parameters: local refinements a sampler would need many trials to
stumble on (epochs are rarely the parameter a sampler pushes up on its own, and a user's
defaults are usually close to something good). Local moves and the sampler share the trials
according to how often each has produced a new best (see the class).
"""

from __future__ import annotations

import math
import re
import secrets
from dataclasses import dataclass
from typing import Any

from aft_tui.tuning import moves
from aft_tui.tuning.space import SearchSpace
from aft_tui.tuning.strategies import Choice
from aft_tui.formatting import fmt_value

ADVICE_STEP = 0.15
"""A move asked for by the analysis changes a parameter by 15% of its (unit-scaled) range."""

ADVICE_EVERY = 4
"""Without local moves, at most one trial in four (after the defaults) comes from the analysis."""

LOCAL_SOURCES = ("analysis", "local")
"""How the records of local moves are labelled (the `strategy` field of a trial)."""

LOCAL_PER_PARAM = 2
"""Local refinement tries each parameter at most three times per pass before moving to the next."""

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


def best_record(history: list[dict[str, Any]], direction: str) -> dict[str, Any] | None:
    """The successful trial with the best value (the earliest on ties)."""
    best = None
    sign = 1 if direction == "max" else -1
    for record in sorted(history, key=lambda r: r.get("number") or 0):
        value = record.get("value")
        if record.get("status") != "ok" or not isinstance(value, (int, float)) or not math.isfinite(value):
            continue
        if best is None or sign * value > sign * best["value"]:
            best = record
    return best


def objective_direction(history: list[dict[str, Any]]) -> str:
    return next((r["direction"] for r in reversed(history) if r.get("direction") in ("min", "max")), "max")


def tried(space: SearchSpace, params: dict[str, Any], history: list[dict[str, Any]],
          pending: list[dict[str, Any]] | None = None) -> bool:
    """Whether these parameters already ran (or are running)."""
    points = [r.get("params") or {} for r in history] + list(pending or [])
    return any(moves.same_point(space, params, p) for p in points)


def advised_point(history: list[dict[str, Any]], space: SearchSpace, size: float = ADVICE_STEP,
                  pending: list[dict[str, Any]] | None = None) -> Choice | None:
    """The best trial's parameters with its first actionable finding applied, if untried."""
    from aft_tui.tuning.failures import near_failure

    direction = objective_direction(history)
    best = best_record(history, direction)
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
        if not applied or tried(space, params, history, pending) or near_failure(space, params, history):
            continue
        sentence = str(finding.get("sentence", "")).rstrip(".")
        rationale = f"the analysis of trial {best.get('number')} (the best so far) says: {sentence}; so {', '.join(applied)}"
        return Choice(params, rationale, "analysis", {"finding": finding.get("code"), "from_trial": best.get("number")})
    return None


class AdvisedSamplerStrategy:
    """A model-based sampler that shares the trials with informed local moves (see the module doc).

    A local move starts from the best trial so far: the move the curve analysis asks for when
    there is one that has not run, else the next step of a coordinate search around the best
    trial (one parameter at a time, continuing the way that improved, skipping failed regions).

    Who proposes the next trial is decided by how often each side has produced a new best:
    each side's success rate is estimated as (improvements + 1) / (trials + 2), and the side
    with the higher estimate proposes (on a tie, the side that has had fewer trials). Trial 2 is
    therefore local, a local search that keeps improving keeps the turn, and once it stops
    paying the sampler takes over. On problems where the user's defaults sit near a good region
    the local side wins many trials; where the optimum is elsewhere the sampler does. Running
    trials count as failures until they finish, which keeps parallel workers from all choosing
    the same side.

    With `local=False` only analysis moves are made, at most one trial in `every`.
    """

    def __init__(self, name: str, every: int = ADVICE_EVERY, size: float = ADVICE_STEP, local: bool = True) -> None:
        self.name = name
        self.every = max(1, int(every))
        self.size = size
        self._local = None
        if local:
            from aft_tui.tuning.coordinate import CoordinateStrategy

            self._local = CoordinateStrategy(per_param_trials=LOCAL_PER_PARAM, source="local",
                                             label="local refinement of the best trial")
        self._pending: list[dict[str, Any]] = []
        self._pending_ids: set[str] = set()
        self._asked_sampler = 0
        self.fallback_note: str | None = None

    def scores(self, history: list[dict[str, Any]]) -> dict[str, tuple[int, int]]:
        """(improvements of the best, trials) for the local moves and for the sampler."""
        direction = objective_direction(history)
        sign = 1 if direction == "max" else -1
        tally = {"local": [0, 0], "sampler": [0, 0]}
        best = None
        for r in sorted(history, key=lambda r: (r.get("finished_at") or 0, r.get("number") or 0)):
            value = r.get("value")
            improved = (r.get("status") == "ok" and isinstance(value, (int, float)) and math.isfinite(value)
                        and (best is None or sign * value > sign * best))
            if improved:
                best = value
            source = r.get("strategy")
            side = "local" if source in LOCAL_SOURCES else None if source in ("defaults", "requeued") else "sampler"
            if side:
                tally[side][0] += int(improved)
                tally[side][1] += 1
        tally["local"][1] += len(self._pending)
        finished_sampler = tally["sampler"][1]
        tally["sampler"][1] += max(0, self._asked_sampler - finished_sampler)
        return {k: (v[0], v[1]) for k, v in tally.items()}

    def _local_turn(self, history: list[dict[str, Any]]) -> bool:
        sc = self.scores(history)
        (ls, ln), (ss, sn) = sc["local"], sc["sampler"]
        local_rate, sampler_rate = (ls + 1) / (ln + 2), (ss + 1) / (sn + 2)
        if abs(local_rate - sampler_rate) > 1e-12:
            return local_rate > sampler_rate
        return ln <= sn

    def propose(self, history: list[dict[str, Any]], space: SearchSpace) -> Choice | None:
        finished = {(r.get("strategy_info") or {}).get("advice_id") for r in history}
        for ident in list(self._pending_ids):
            if ident in finished:
                self._pending_ids.discard(ident)
        self._pending = [p for p in self._pending if p["_id"] in self._pending_ids]
        counted = [r for r in history if r.get("status") in ("ok", "failed", "pruned", "timeout")]
        if self._local is not None:
            if not self._local_turn(history):
                self._asked_sampler += 1
                return None
        else:
            used = sum(1 for r in history if r.get("strategy") in LOCAL_SOURCES) + len(self._pending)
            if used >= 1 + len(counted) // self.every:
                return None
        pending = [p["params"] for p in self._pending]
        choice = advised_point(history, space, self.size, pending)
        if choice is None and self._local is not None:
            choice = self._local.propose(history, space)
        if choice is None:
            self._asked_sampler += 1
            return None
        ident = secrets.token_hex(4)
        choice.extra["advice_id"] = ident
        self._pending.append({"_id": ident, "params": dict(choice.params)})
        self._pending_ids.add(ident)
        return choice
