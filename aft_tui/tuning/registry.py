"""Strategies built from their names: one factory per name a session can choose.

A factory takes the options every strategy may be given and uses what it needs: `settings`
(coordinate's trial and time budgets, whether samplers take advice), `seed`, and, for the
model-driven strategies, `proposer` (a `ParamProposer`, or `find_proposer`, a function that
gives one when first needed) and `info` (where their sentences for the person go).
"""

from __future__ import annotations

from typing import Any, Callable

from aft_tui.tuning.base import SAMPLER_STRATEGIES, SamplerStrategy, Strategy, check_strategy

ADVISED_SAMPLERS = ("tpe", "gp", "cmaes")  # model-based samplers also run the curve analysis' moves (advice.py)

Factory = Callable[..., Strategy]


def _sampler(name: str) -> Factory:
    def build(settings: Any = None, advice: bool | None = None, **_: Any) -> Strategy:
        if name in ADVISED_SAMPLERS and (advice if advice is not None else getattr(settings, "advice", True)):
            from aft_tui.tuning.advised import AdvisedSamplerStrategy

            return AdvisedSamplerStrategy(name)
        return SamplerStrategy(name)

    return build


def _coordinate(settings: Any = None, **_: Any) -> Strategy:
    from aft_tui.tuning.coordinate import PER_PARAM_TRIALS, CoordinateStrategy

    return CoordinateStrategy(per_param_trials=int(getattr(settings, "coordinate_trials", None) or PER_PARAM_TRIALS),
                              per_param_seconds=getattr(settings, "coordinate_time", None))


def _model(name: str) -> Factory:
    def build(proposer: Any = None, find_proposer: Callable[[], Any] | None = None,
              info: Callable[[str], None] | None = None, seed: int | None = None, **_: Any) -> Strategy:
        from aft_tui.tuning.llm_strategy import HybridStrategy, LLMStrategy

        cls = LLMStrategy if name == "llm" else HybridStrategy
        return cls(proposer=proposer, find_proposer=find_proposer, info=info, seed=int(seed or 0))

    return build


FACTORIES: dict[str, Factory] = {
    **{name: _sampler(name) for name in SAMPLER_STRATEGIES},
    "coordinate": _coordinate,
    "llm": _model("llm"),
    "hybrid": _model("hybrid"),
}


def make_strategy(name: str, **options: Any) -> Strategy:
    """The strategy called `name`, built by its factory from the options it uses."""
    check_strategy(name)
    return FACTORIES[name](**options)
