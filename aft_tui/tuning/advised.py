"""How the model-based samplers (tpe, gp, cmaes) act on the curve analysis.

When the best trial so far says something actionable ("still improving at the last epoch",
"diverged", "overfitting") and the move it asks for has not been tried, that move is a
candidate for the next trial, along with a coordinate step around the best trial. Both start
from the best trial's parameters: local refinements a sampler would need many trials to
stumble on (epochs are rarely the parameter a sampler pushes up on its own, and a user's
defaults are usually close to something good). Local moves and the sampler share the trials
according to how often each has produced a new best (see the class).
"""

from __future__ import annotations

import math
import secrets
from typing import Any

from aft_tui.tuning.advice import ADVICE_STEP, advised_point, objective_direction
from aft_tui.tuning.base import Choice
from aft_tui.tuning.coordinate import CoordinateStrategy
from aft_tui.tuning.space import SearchSpace

ADVICE_EVERY = 4
"""Without local moves, at most one trial in four (after the defaults) comes from the analysis."""

LOCAL_SOURCES = ("analysis", "local")
"""How the records of local moves are labelled (the `strategy` field of a trial)."""

LOCAL_PER_PARAM = 2
"""Local refinement tries each parameter at most three times per pass before moving to the next."""


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
            self._local = CoordinateStrategy(per_param_trials=LOCAL_PER_PARAM, source="local",
                                             label="local refinement of the best trial")
        self._pending: list[dict[str, Any]] = []
        self._pending_ids: set[str] = set()
        self._asked_sampler = 0
        self.fallback_note: str | None = None

    def scores(self, records: list[dict[str, Any]]) -> dict[str, tuple[int, int]]:
        """(improvements of the best, trials) for the local moves and for the sampler."""
        direction = objective_direction(records)
        sign = 1 if direction == "max" else -1
        tally = {"local": [0, 0], "sampler": [0, 0]}
        best = None
        for r in sorted(records, key=lambda r: (r.get("finished_at") or 0, r.get("number") or 0)):
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

    def _local_turn(self, records: list[dict[str, Any]]) -> bool:
        sc = self.scores(records)
        (ls, ln), (ss, sn) = sc["local"], sc["sampler"]
        local_rate, sampler_rate = (ls + 1) / (ln + 2), (ss + 1) / (sn + 2)
        if abs(local_rate - sampler_rate) > 1e-12:
            return local_rate > sampler_rate
        return ln <= sn

    def propose(self, records: list[dict[str, Any]], space: SearchSpace) -> Choice | None:
        finished = {(r.get("strategy_info") or {}).get("advice_id") for r in records}
        for ident in list(self._pending_ids):
            if ident in finished:
                self._pending_ids.discard(ident)
        self._pending = [p for p in self._pending if p["_id"] in self._pending_ids]
        counted = [r for r in records if r.get("status") in ("ok", "failed", "pruned", "timeout")]
        if self._local is not None:
            if not self._local_turn(records):
                self._asked_sampler += 1
                return None
        else:
            used = sum(1 for r in records if r.get("strategy") in LOCAL_SOURCES) + len(self._pending)
            if used >= 1 + len(counted) // self.every:
                return None
        pending = [p["params"] for p in self._pending]
        choice = advised_point(records, space, self.size, pending)
        if choice is None and self._local is not None:
            choice = self._local.propose(records, space)
        if choice is None:
            self._asked_sampler += 1
            return None
        ident = secrets.token_hex(4)
        choice.extra["advice_id"] = ident
        self._pending.append({"_id": ident, "params": dict(choice.params)})
        self._pending_ids.add(ident)
        return choice
