"""The session's strategy, wired to the engine: the brain proposes for `llm` and `hybrid`.

The tuning layer knows no brain; it asks a `ParamProposer`. This is where the engine hands
it one (its brain, found when first asked, so a model chosen before tuning starts is the one
used) and where the strategy's sentences for the person go (the engine's Info events).
"""

from __future__ import annotations

from typing import Any

from aft_tui.tuning.base import Strategy
from aft_tui.tuning.registry import make_strategy


def build_strategy(engine: Any) -> Strategy:
    """The strategy named in the engine's settings."""
    settings = engine.settings
    return make_strategy(settings.strategy, settings=settings, seed=settings.seed,
                         find_proposer=lambda: _brain(engine), info=lambda text: engine.info_message(text))


def _brain(engine: Any) -> Any:
    """The engine's brain, its notices (a rejected proposal, a retry) sent to the session as Info."""
    brain = engine.brain
    attach = getattr(brain, "attach", None)
    if callable(attach) and getattr(brain, "on_info", None) is None:
        attach(engine)
    return brain
