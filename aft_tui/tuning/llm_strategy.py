"""The `llm` and `hybrid` strategies: a model proposes trials, or reviews the optimizer's.

`llm`: the model proposes every trial from the trial records and the curve analysis; a proposal
that is malformed or leaves the search space is rejected before it runs and the optimizer
chooses that trial instead (propose returns None).

`hybrid`: the optimizer proposes every trial. Its proposal is computed here by replaying the
trial records into a throw-away in-memory study with the same sampler, so the model can see it;
the model may override at most a fraction of trials (default 1 in 3) and must say why.
Either way the rationale goes into the trial's commit message and the session.
"""

from __future__ import annotations

import math
from typing import Any, Callable

from aft_tui.formatting import fmt_params
from aft_tui.tuning.base import Choice
from aft_tui.tuning.proposer import ParamProposer
from aft_tui.tuning.space import SearchSpace
from aft_tui.tuning.strategies import make_sampler

DEFAULT_OVERRIDE_FRACTION = 1 / 3


def latest_findings(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for record in reversed(records):
        if record.get("findings"):
            return list(record["findings"])
    return []


class _ModelStrategy:
    """What both strategies share: finding the model, telling the person once when there is none.

    The model is a `ParamProposer`: given as `proposer`, or found by `find_proposer` when it is
    first needed (the engine's brain, which the person may switch before tuning starts).
    Sentences for the person go to `info`.
    """

    name = "llm"

    def __init__(self, proposer: ParamProposer | None = None, find_proposer: Callable[[], ParamProposer] | None = None,
                 info: Callable[[str], None] | None = None, seed: int = 0, base: str = "tpe") -> None:
        if proposer is None and find_proposer is None:
            raise ValueError(f"the {self.name} strategy needs a proposer or a way to find one")
        self._proposer = proposer
        self._find_proposer = find_proposer
        self._info_to = info
        self.seed = seed
        self.base = base if base not in ("llm", "hybrid", "coordinate") else "tpe"
        self._told_offline = False
        self.fallback_note: str | None = None  # why the last trial went to the optimizer (for its rationale)

    @property
    def proposer(self) -> ParamProposer:
        if self._proposer is None:
            self._proposer = self._find_proposer()  # type: ignore[misc]  # one of the two is given
        return self._proposer

    @property
    def model_name(self) -> str:
        return getattr(self.proposer, "model", None) or "the model"

    def _info(self, text: str) -> None:
        if self._info_to is not None:
            self._info_to(text)

    def _offline_notice(self, what: str) -> None:
        """Without a model nothing is proposed; say so once instead of every trial."""
        if getattr(self.proposer, "model", None) or self._told_offline:
            return
        self._told_offline = True
        self._info(f"The {self.name} strategy needs a model (set --model, e.g. openai/gpt-4o-mini, and the provider's "
                   f"key in the environment); {what}.")


class LLMStrategy(_ModelStrategy):
    name = "llm"

    async def propose(self, records: list[dict[str, Any]], space: SearchSpace) -> Choice | None:
        self.fallback_note = None
        proposal = await self.proposer.propose_params(space, records, latest_findings(records), None)
        if proposal is None:
            self._offline_notice(f"the {self.base} optimizer chooses every trial instead")
            problem = getattr(self.proposer, "last_problem", None) or "the model made no proposal"
            self.fallback_note = problem.split("; the optimizer chooses")[0].rstrip(".")
            return None
        missing = [d.name for d in space if d.name not in proposal.params]
        rationale = f"proposed by {self.model_name}: {proposal.rationale}"
        if missing:
            rationale += f" ({', '.join(missing)} left to the {self.base} optimizer)"
        return Choice(dict(proposal.params), rationale, "llm")


class HybridStrategy(_ModelStrategy):
    name = "hybrid"

    def __init__(self, proposer: ParamProposer | None = None, find_proposer: Callable[[], ParamProposer] | None = None,
                 info: Callable[[str], None] | None = None, seed: int = 0, base: str = "tpe",
                 max_override_fraction: float = DEFAULT_OVERRIDE_FRACTION) -> None:
        super().__init__(proposer, find_proposer, info, seed, base)
        self.max_override_fraction = max_override_fraction
        self.proposed = 0
        self.overrides = 0

    def may_override(self) -> bool:
        """At most `max_override_fraction` of the trials proposed so far (this one included)."""
        return self.overrides + 1 <= self.max_override_fraction * self.proposed + 1e-9

    async def propose(self, records: list[dict[str, Any]], space: SearchSpace) -> Choice | None:
        optimizer = optimizer_proposal(records, space, self.base, self.seed)
        self.proposed += 1
        source = f"hybrid:{self.base}"
        if not self.may_override():
            return Choice(optimizer, f"proposed by the {self.base} optimizer (the model reviews at most "
                                     f"{_fraction(self.max_override_fraction)} of the trials)", source)
        proposal = await self.proposer.propose_params(space, records, latest_findings(records), dict(optimizer))
        if proposal is None:
            self._offline_notice(f"the {self.base} optimizer's proposals run unchanged")
            return Choice(optimizer, f"proposed by the {self.base} optimizer", source)
        if proposal.keep_optimizer or not proposal.params:
            return Choice(optimizer, f"proposed by the {self.base} optimizer; {self.model_name} agreed: "
                                     f"{proposal.rationale}", source)
        params = {**optimizer, **proposal.params}
        if params == optimizer:
            return Choice(optimizer, f"proposed by the {self.base} optimizer; {self.model_name} agreed: "
                                     f"{proposal.rationale}", source)
        self.overrides += 1
        self._info(f"{self.model_name} overrode the {self.base} optimizer ({fmt_params(optimizer)} -> {fmt_params(params)}): "
                   f"{proposal.rationale}")
        return Choice(params, f"{self.model_name} overrode the {self.base} optimizer's proposal ({fmt_params(optimizer)}): "
                              f"{proposal.rationale}", "hybrid:llm", {"optimizer_params": optimizer})


def _fraction(value: float) -> str:
    inverse = 1 / value if value > 0 else math.inf
    if math.isfinite(inverse) and abs(inverse - round(inverse)) < 1e-6:
        return f"1 in {round(inverse)}"
    return f"{value:.0%}"


def optimizer_proposal(records: list[dict[str, Any]], space: SearchSpace, base: str, seed: int) -> dict[str, Any]:
    """What the optimizer would run next given `records`: the finished trials replayed into a
    fresh in-memory study with the same kind of sampler (seeded by the trial count so
    consecutive proposals differ)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    direction = next((r.get("direction") for r in reversed(records) if r.get("direction")), "max")
    study = optuna.create_study(direction="maximize" if direction == "max" else "minimize",
                                sampler=make_sampler(base, seed + len(records), space))
    distributions = space.distributions()
    names = set(distributions)
    for record in records:
        params = {k: v for k, v in (record.get("params") or {}).items() if k in names}
        value = record.get("value")
        if (record.get("status") != "ok" or set(params) != names or space.validate(params)
                or not isinstance(value, (int, float)) or not math.isfinite(value)):
            continue
        try:
            study.add_trial(optuna.trial.create_trial(params=params, distributions=distributions, value=float(value)))
        except ValueError:  # a value the distribution refuses (e.g. an old range): leave it out
            continue
    trial = study.ask(distributions)
    return dict(trial.params)
