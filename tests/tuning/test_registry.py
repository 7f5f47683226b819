"""Strategies are built from their names by one registry, and the model-driven ones get their
model from whoever builds them (the tuning layer imports no brain)."""

from __future__ import annotations

import pytest

from aft_tui.errors import UserError
from aft_tui.tuning.base import ALL_STRATEGIES, Choice
from aft_tui.tuning.proposer import ParamProposal
from aft_tui.tuning.registry import FACTORIES, make_strategy
from tests.tuning.spaces import space


def test_every_strategy_name_has_exactly_one_factory():
    assert tuple(FACTORIES) == ALL_STRATEGIES
    with pytest.raises(UserError, match="Unknown strategy 'bogus'; choose one of: tpe, random"):
        make_strategy("bogus")


class _Proposer:
    model = "test/model"
    last_problem = None

    def __init__(self) -> None:
        self.asked = 0

    async def propose_params(self, space, history, findings, optimizer_choice):
        self.asked += 1
        return ParamProposal({"lr": 0.01}, "a smaller step")


class _NoModel:
    model = None
    last_problem = "no model is configured"

    async def propose_params(self, space, history, findings, optimizer_choice):
        return None


async def test_the_model_is_found_when_first_needed_and_its_answer_becomes_the_choice():
    found: list[_Proposer] = []

    def find() -> _Proposer:
        found.append(_Proposer())
        return found[-1]

    strategy = make_strategy("llm", find_proposer=find, seed=1)
    assert found == []  # building the strategy does not build the model
    choice = await strategy.propose([], space())
    assert isinstance(choice, Choice) and choice.params == {"lr": 0.01} and choice.source == "llm"
    assert choice.rationale.startswith("proposed by test/model: a smaller step")
    await strategy.propose([], space())
    assert len(found) == 1 and found[0].asked == 2


async def test_without_a_model_the_optimizer_chooses_and_the_person_is_told_once():
    told: list[str] = []
    strategy = make_strategy("llm", proposer=_NoModel(), info=told.append)
    assert await strategy.propose([], space()) is None
    assert await strategy.propose([], space()) is None
    assert strategy.fallback_note == "no model is configured"
    assert len(told) == 1 and told[0].startswith("The llm strategy needs a model")
