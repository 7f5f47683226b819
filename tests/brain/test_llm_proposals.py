"""Parameter proposals: structured JSON checked against the search space before anything runs,
and the `llm` / `hybrid` strategies built on them."""

from __future__ import annotations

import json

import pytest

from aft_tui.brain.proposals import ProposalRejected, first_json_object, parse_proposal
from aft_tui.tuning.llm_strategy import HybridStrategy, LLMStrategy, optimizer_proposal
from aft_tui.tuning.space import Dimension, SearchSpace
from aft_tui.tuning.registry import make_strategy
from tests.brain.llm_server import text

SPACE = SearchSpace([
    Dimension("lr", "float", 0.1, "--lr", low=1e-4, high=1.0, log=True),
    Dimension("batch_size", "int", 64, "--batch_size", low=8, high=128),
    Dimension("optimizer", "categorical", "adam", "--optimizer", choices=["adam", "sgd"]),
])
HISTORY = [
    {"number": 1, "status": "ok", "value": 0.70, "params": {"lr": 0.1, "batch_size": 64, "optimizer": "adam"},
     "metric": "val_acc", "direction": "max", "findings": []},
    {"number": 2, "status": "ok", "value": 0.80, "params": {"lr": 0.01, "batch_size": 32, "optimizer": "adam"},
     "metric": "val_acc", "direction": "max",
     "findings": [{"code": "overfitting", "sentence": "val_acc peaked at epoch 2 then fell: overfitting."}]},
]


def _json(**data) -> str:
    return json.dumps(data)


def test_first_json_object_is_found_inside_prose_and_fences():
    assert first_json_object('Sure!\n```json\n{"params": {"lr": 0.01}}\n```') == {"params": {"lr": 0.01}}
    with pytest.raises(ProposalRejected, match="no JSON object"):
        first_json_object("lr should be 0.01")


def test_parse_coerces_obvious_spellings_and_rejects_out_of_space_values():
    parsed = parse_proposal(_json(params={"lr": "1e-3", "batch_size": 32.0, "optimizer": "SGD"}, rationale="r"), SPACE)
    assert parsed.params == {"lr": 0.001, "batch_size": 32, "optimizer": "sgd"}
    with pytest.raises(ProposalRejected, match=r"lr=5\.0 is outside lr ∈ \[0\.0001, 1\] \(log\)"):
        parse_proposal(_json(params={"lr": 5.0}), SPACE)
    with pytest.raises(ProposalRejected, match="'momentum' is not in the search space"):
        parse_proposal(_json(params={"momentum": 0.9}), SPACE)
    with pytest.raises(ProposalRejected, match='no "params" object'):
        parse_proposal(_json(rationale="no idea"), SPACE)


async def test_a_valid_proposal_comes_back_with_its_rationale(brain, server):
    server.script(text(_json(params={"lr": 0.01, "batch_size": 32, "optimizer": "adam"},
                             rationale="Trial 2 was best; stay near lr=0.01.")))
    proposal = await brain.propose_params(SPACE, HISTORY, HISTORY[-1]["findings"], None)
    assert proposal.params == {"lr": 0.01, "batch_size": 32, "optimizer": "adam"}
    assert proposal.rationale == "Trial 2 was best; stay near lr=0.01."
    body = server.requests[-1]["body"]
    assert body["response_format"] == {"type": "json_object"}
    payload = json.loads(body["messages"][-1]["content"])
    assert payload["objective"] == {"metric": "val_acc", "direction": "max"}
    assert payload["history"][1]["params"]["lr"] == 0.01 and "overfitting" in payload["findings"][0]
    assert {d["name"] for d in payload["search_space"]} == {"lr", "batch_size", "optimizer"}


async def test_a_malformed_proposal_is_rejected_with_a_clear_sentence(brain, server):
    server.script(text("I think lr should go down a bit, maybe 0.01?"))
    assert await brain.propose_params(SPACE, HISTORY, [], None) is None
    assert brain.last_problem == ("The model's parameter proposal was rejected before running: the reply contained "
                                  "no JSON object; the optimizer chooses this trial instead.")
    assert brain.infos[-1] == brain.last_problem


async def test_an_out_of_space_proposal_is_rejected_before_anything_runs(brain, server):
    server.script(text(_json(params={"lr": 3.0, "batch_size": 4}, rationale="go big")))
    assert await brain.propose_params(SPACE, HISTORY, [], None) is None
    assert "lr=3.0 is outside lr ∈ [0.0001, 1] (log)" in brain.last_problem
    assert "batch_size=4 is outside batch_size ∈ [8, 128]" in brain.last_problem


async def test_a_failing_model_leaves_the_choice_to_the_optimizer(brain, server):
    server.script(*[text("", status=500) for _ in range(4)])
    assert await brain.propose_params(SPACE, HISTORY, [], None) is None
    assert "kept failing (HTTP 500)" in brain.last_problem and "the optimizer chooses" in brain.last_problem


async def test_llm_strategy_returns_the_models_choice_or_none(brain, server):
    strategy = make_strategy("llm", proposer=brain)
    assert isinstance(strategy, LLMStrategy)
    server.script(text(_json(params={"lr": 0.02}, rationale="closer to the best trial")), text("not json"))
    choice = await strategy.propose(HISTORY, SPACE)
    assert choice.params == {"lr": 0.02} and choice.source == "llm"
    assert choice.rationale.startswith("proposed by openai/test-model: closer to the best trial")
    assert "batch_size, optimizer left to the tpe optimizer" in choice.rationale
    assert await strategy.propose(HISTORY, SPACE) is None  # malformed: the study's sampler decides


def test_optimizer_proposal_is_inside_the_space_and_varies_with_history():
    first = optimizer_proposal(HISTORY, SPACE, "tpe", 0)
    assert not SPACE.validate(first) and set(first) == {"lr", "batch_size", "optimizer"}
    longer = HISTORY + [dict(HISTORY[1], number=3, value=0.81)]
    assert optimizer_proposal(longer, SPACE, "tpe", 0) != first


async def test_hybrid_keeps_the_optimizer_unless_the_model_overrides_at_most_one_in_three(brain, server):
    strategy = HybridStrategy(proposer=brain, info=brain.on_info)
    override = text(_json(action="override", params={"lr": 0.005}, rationale="overfitting: lower the learning rate"))
    server.script(override, text(_json(action="accept", rationale="the optimizer explores well")))

    choices = [await strategy.propose(HISTORY, SPACE) for _ in range(2)]
    assert len(server.requests) == 0  # calls 1 and 2: an override would exceed 1 in 3, the model is not asked
    assert all(c.source == "hybrid:tpe" and "at most 1 in 3" in c.rationale for c in choices)

    third = await strategy.propose(HISTORY, SPACE)  # 1 override in 3 trials is allowed
    assert third.source == "hybrid:llm" and third.params["lr"] == 0.005
    assert "overrode the tpe optimizer's proposal" in third.rationale and "overfitting" in third.rationale
    sent = json.loads(server.requests[0]["body"]["messages"][-1]["content"])
    assert set(sent["optimizer_proposal"]) == {"lr", "batch_size", "optimizer"}
    assert any("overrode the tpe optimizer" in line for line in brain.infos)

    for _ in range(2):  # calls 4 and 5: 2 overrides in 4 or 5 would exceed the fraction
        assert (await strategy.propose(HISTORY, SPACE)).source == "hybrid:tpe"
    sixth = await strategy.propose(HISTORY, SPACE)
    assert sixth.source == "hybrid:tpe" and "openai/test-model agreed: the optimizer explores well" in sixth.rationale
    assert strategy.overrides == 1 and len(server.requests) == 2


async def test_hybrid_falls_back_to_the_optimizer_on_an_out_of_space_override(brain, server):
    strategy = HybridStrategy(proposer=brain, info=brain.on_info, max_override_fraction=1.0)
    server.script(text(_json(action="override", params={"lr": 50}, rationale="yolo")))
    choice = await strategy.propose(HISTORY, SPACE)
    assert choice.source == "hybrid:tpe" and not SPACE.validate(choice.params)
    assert "lr=50" in brain.last_problem and "the optimizer's choice runs" in brain.last_problem
