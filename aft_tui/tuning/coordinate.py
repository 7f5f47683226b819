"""Coordinate descent: the original AutoFineTuner's method, one parameter at a time.

Starting from the script's defaults, each parameter in turn gets up to `per_param_trials`
trials (and, optionally, `per_param_seconds` of wall time) while every other parameter stays
at the best values found so far. Within a parameter:

* the first move goes the way the curve analysis of the best trial points (``epochs`` up when
  the run was still improving at its last epoch, the learning rate down after a divergence);
  without advice it goes up;
* a move that improved becomes the new base and the next move continues in the same
  direction with the same step ("keep going while it helps");
* a move that did not improve is followed by the opposite direction, then by half the step;
* categorical parameters try their other values in order;
* points that already ran, or that fall in the region of a failed trial, are skipped.

When every parameter has had its turn, a new pass starts with half the step size. After
`passes` passes the strategy has nothing left to say and the study's sampler takes over.

The state is rebuilt from the session's records on every call (each coordinate trial records
which parameter, pass, direction and step it explored in ``strategy_info``), so a resumed
session continues where it stopped; proposals still running are remembered in memory.
"""

from __future__ import annotations

import secrets
import time
from typing import Any, Callable

from aft_tui.tuning import moves
from aft_tui.tuning.advice import best_record, move_for, objective_direction, param_kind, tried
from aft_tui.tuning.failures import near_failure
from aft_tui.tuning.space import Dimension, SearchSpace
from aft_tui.tuning.base import Choice
from aft_tui.formatting import fmt_value

PER_PARAM_TRIALS = 3
FIRST_STEP = 0.2
"""The first pass moves a parameter by 20% of its (unit-scaled) range; each later pass halves it."""
PASSES = 3
KEY = "coordinate"


def _info(record: dict[str, Any]) -> dict[str, Any] | None:
    info = (record.get("strategy_info") or {}).get(KEY)
    return info if isinstance(info, dict) else None


class CoordinateStrategy:
    name = "coordinate"

    def __init__(self, per_param_trials: int = PER_PARAM_TRIALS, per_param_seconds: float | None = None,
                 first_step: float = FIRST_STEP, passes: int = PASSES,
                 clock: Callable[[], float] = time.time, source: str = "coordinate",
                 label: str = "coordinate descent") -> None:
        if per_param_trials < 1:
            from aft_tui.errors import UserError

            raise UserError("The coordinate strategy needs at least 1 trial per parameter; raise coordinate_trials.")
        self.per_param_trials = int(per_param_trials)
        self.per_param_seconds = per_param_seconds
        self.first_step = first_step
        self.passes = passes
        self.clock = clock
        self.source, self.label = source, label  # how its trials are named (it also serves as a local search)
        self.fallback_note: str | None = None
        self._pending: dict[str, dict[str, Any]] = {}
        self._order: list[str] | None = None

    # -- the interface -------------------------------------------------------------
    def propose(self, records: list[dict[str, Any]], space: SearchSpace) -> Choice | None:
        self.fallback_note = None
        done_ids = {info.get("id") for info in map(_info, records) if info}
        for ident in [i for i in self._pending if i in done_ids]:
            del self._pending[ident]
        records = sorted(records, key=lambda r: r.get("number") or 0)
        order = self.order(records, space)
        explored = [info for info in map(_info, records) if info] + list(self._pending.values())
        frontier = max(((i["pass"], order.index(i["param"])) for i in explored if i.get("param") in order),
                       default=(0, 0))
        for pass_no in range(frontier[0], self.passes):
            size = self.first_step / (2 ** pass_no)
            start = frontier[1] if pass_no == frontier[0] else 0
            for name in order[start:]:
                mine = [i for i in explored if i.get("param") == name and i.get("pass") == pass_no]
                if len(mine) >= self.per_param_trials or self._out_of_time(mine):
                    continue
                choice = self._next_move(name, pass_no, size, records, space, mine)
                if choice is not None:
                    info = choice.extra[KEY]
                    self._pending[info["id"]] = {**info, "params": dict(choice.params)}
                    return choice
        self.fallback_note = (f"{self.label} has given every parameter its {self.per_param_trials} trials "
                              f"in each of {self.passes} passes")
        return None

    def order(self, records: list[dict[str, Any]], space: SearchSpace) -> list[str]:
        """Parameters the defaults' analysis wants moved first, then learning rates, then the rest."""
        if self._order is not None and set(self._order) == {d.name for d in space}:
            return self._order
        first = next((r for r in records if r.get("number") == 1), None)
        findings = (first or {}).get("findings") or []
        names = [d.name for d in space]
        advised = [n for n in names if move_for(findings, space, n) is not None]
        rates = [n for n in names if n not in advised and param_kind(n) == "learning_rate"]
        order = advised + rates + [n for n in names if n not in advised and n not in rates]
        if first is not None:
            self._order = order  # fixed once the defaults' analysis is known
        return order

    # -- one parameter ---------------------------------------------------------------
    def _out_of_time(self, mine: list[dict[str, Any]]) -> bool:
        if self.per_param_seconds is None or not mine:
            return False
        started = min(float(i.get("started", self.clock())) for i in mine)
        return self.clock() - started >= self.per_param_seconds

    def _next_move(self, name: str, pass_no: int, size: float, records: list[dict[str, Any]], space: SearchSpace,
                   mine: list[dict[str, Any]]) -> Choice | None:
        dim = space.get(name)
        assert dim is not None
        direction = objective_direction(records)
        best = best_record(records, direction)
        base = {d.name: d.default for d in space}
        if best is not None:
            base.update({k: v for k, v in (best.get("params") or {}).items() if space.get(k) is not None})
        base = {d.name: base[d.name] for d in space}
        pending = [p["params"] for p in self._pending.values()]
        where = f"trial {best['number']}, the best so far" if best is not None else "the defaults"
        head = f"{self.label}, pass {pass_no + 1}, {name}"
        if dim.kind == "categorical":
            for value in self._other_choices(dim, base[name]):
                params = {**base, name: value}
                if not tried(space, params, records, pending) and not near_failure(space, params, records):
                    why = f"{head}: trying {name}={fmt_value(value)} from {where}, other parameters unchanged"
                    return self._choice(params, why, name, pass_no, 0, 0.0)
            return None
        moves_to_try = self._candidates(name, size, space, best)
        for step_dir, step_size, why in moves_to_try:
            new = moves.step(dim, base[name], step_dir, step_size)
            if new is None:
                continue
            params = {**base, name: new}
            if tried(space, params, records, pending) or near_failure(space, params, records):
                continue
            text = f"{head}: {fmt_value(base[name])} → {fmt_value(new)} from {where}, other parameters unchanged ({why})"
            return self._choice(params, text, name, pass_no, step_dir, step_size)
        return None

    def _candidates(self, name: str, size: float, space: SearchSpace,
                    best: dict[str, Any] | None) -> list[tuple[int, float, str]]:
        """(direction, step, reason) in the order to try them; already-run points are skipped later."""
        out: list[tuple[int, float, str]] = []
        improver = _info(best) if best is not None else None
        if best is not None and improver and improver.get("param") == name and improver.get("direction"):
            d, s = int(improver["direction"]), float(improver.get("size") or size)
            out.append((d, s, f"trial {best['number']} improved by moving {name} this way; continuing"))
        else:
            s = size
            move = move_for((best or {}).get("findings") or [], space, name)
            if move is not None and best is not None:
                d = move.direction
                verb = "raising" if d > 0 else "lowering"
                out.append((d, s, f"the analysis of trial {best['number']} ({move.code.replace('_', ' ')}) "
                                  f"suggests {verb} it"))
            else:
                d = 1
                out.append((d, s, "no advice from the analysis: trying higher first"))
        out.append((-d, s, "the other direction"))
        for k in (2, 4):
            out.append((d, s / k, f"a {k}x smaller step"))
            out.append((-d, s / k, f"a {k}x smaller step the other way"))
        return out

    @staticmethod
    def _other_choices(dim: Dimension, current: Any) -> list[Any]:
        choices = list(dim.choices or [])
        if current in choices:
            i = choices.index(current)
            return choices[i + 1:] + choices[:i]
        return choices

    def _choice(self, params: dict[str, Any], rationale: str, name: str, pass_no: int, direction: int,
                size: float) -> Choice:
        info = {"id": secrets.token_hex(4), "param": name, "pass": pass_no, "direction": direction, "size": size,
                "started": self.clock()}
        return Choice(params, rationale, self.source, {KEY: info})
