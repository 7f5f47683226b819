"""Which kind of experiment runs next: Thompson sampling over the arms that are paying off.

Research mode has several sources of experiments (the optimizer's numeric proposals, the offline
catalogue of recipe edits, the LLM's code changes). None is best everywhere: on one script the
optimizer finds a better learning rate, on another a cosine schedule beats any learning rate.
Each arm keeps a Beta posterior over "this experiment will be kept", from its latest outcomes
(WINDOW); the next arm is the one whose sampled rate is highest, so an arm that keeps paying off
is chosen more and one that has stopped (a numeric plateau, an exhausted catalogue) is tried less
without ever being starved.
The generator is seeded, so a session's choices repeat under the same seed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Iterable


WINDOW = 8
"""Only an arm's latest outcomes decide: the optimizer that paid off early and has since hit a
plateau must lose its lead to the code changes (and win it back when they stop paying)."""


@dataclass
class ArmStats:
    kept: int = 0
    tried: int = 0
    recent: list[int] = field(default_factory=list)  # 1 kept / 0 not, the latest WINDOW outcomes

    @property
    def discarded(self) -> int:
        return self.tried - self.kept


@dataclass
class Bandit:
    """Thompson sampling with a Beta(1, 1) prior on each arm's keep rate over its latest outcomes."""

    arms: dict[str, ArmStats] = field(default_factory=dict)
    seed: int | None = None
    draws: int = 0  # how many choices were made: a resumed session continues the sequence

    def choose(self, available: Iterable[str]) -> str:
        names = list(available)
        if not names:
            raise ValueError("no arm is available")
        rng = random.Random(None if self.seed is None else self.seed * 1_000_003 + self.draws)
        self.draws += 1
        untried = [name for name in names if name not in self.arms or self.arms[name].tried == 0]
        if untried:  # every source gets one experiment before the posteriors decide
            return untried[0]
        best, best_draw = names[0], -1.0
        for name in names:
            recent = self.arms.get(name, ArmStats()).recent
            draw = rng.betavariate(1 + sum(recent), 1 + len(recent) - sum(recent))
            if draw > best_draw:
                best, best_draw = name, draw
        return best

    def update(self, arm: str, kept: bool) -> None:
        stats = self.arms.setdefault(arm, ArmStats())
        stats.tried += 1
        stats.kept += int(kept)
        stats.recent = [*stats.recent, int(kept)][-WINDOW:]

    def rate(self, arm: str) -> float:
        """The posterior mean keep rate, for reports."""
        stats = self.arms.get(arm, ArmStats())
        return (1 + stats.kept) / (2 + stats.tried)

    def to_dict(self) -> dict:
        return {"seed": self.seed, "draws": self.draws,
                "arms": {name: {"kept": s.kept, "tried": s.tried, "recent": s.recent} for name, s in self.arms.items()}}

    @classmethod
    def from_dict(cls, data: dict | None) -> "Bandit":
        data = data or {}
        arms = {str(name): ArmStats(int(s.get("kept", 0)), int(s.get("tried", 0)),
                                    [int(bool(x)) for x in s.get("recent") or []][-WINDOW:])
                for name, s in (data.get("arms") or {}).items() if isinstance(s, dict)}
        seed = data.get("seed")
        return cls(arms=arms, seed=seed if isinstance(seed, int) else None, draws=int(data.get("draws") or 0))
