"""The strategy interface: what every strategy is asked, and the names a session can choose.

Every strategy runs through an Optuna study (so storage, resume and pruning are shared).
Model-based ones are Optuna samplers; rule-based ones (`coordinate`, and the model-driven
ones) implement `Strategy.propose` and hand their choice to the study with
`enqueue_trial`, so the trial record is the same whoever chose it. `registry.py` builds a
strategy from its name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Awaitable, Protocol

from aft_tui.errors import UserError
from aft_tui.tuning.space import SearchSpace

SAMPLER_STRATEGIES = ("tpe", "random", "gp", "cmaes", "grid")
ALL_STRATEGIES = SAMPLER_STRATEGIES + ("coordinate", "llm", "hybrid")


@dataclass
class Choice:
    """A parameter assignment and why it was chosen (goes into the commit message)."""

    params: dict[str, Any]
    rationale: str = ""
    source: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


class Strategy(Protocol):
    name: str

    def propose(self, records: list[dict[str, Any]], space: SearchSpace) -> "Choice | None | Awaitable[Choice | None]":
        """Return a choice, or None to let the study's sampler decide.

        Model-backed strategies (`llm`, `hybrid`) are coroutines; the tuner awaits the
        result whenever it is awaitable, so rule-based strategies can stay plain functions.
        """


class SamplerStrategy:
    """A strategy that is entirely an Optuna sampler."""

    def __init__(self, name: str) -> None:
        self.name = name

    def propose(self, records: list[dict[str, Any]], space: SearchSpace) -> Choice | None:
        return None


def check_strategy(name: str) -> None:
    """Refuse a strategy name before anything is built from it."""
    if name not in ALL_STRATEGIES:
        raise UserError(f"Unknown strategy '{name}'; choose one of: {', '.join(ALL_STRATEGIES)}.")
