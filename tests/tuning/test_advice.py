"""From the analyzer's advice to parameter moves: names, steps, and the advised sampler."""

from __future__ import annotations

import pytest

from aft_tui.tuning import moves
from aft_tui.tuning.advice import advised_point, param_kind, suggested_moves
from aft_tui.tuning.advised import AdvisedSamplerStrategy
from aft_tui.tuning.registry import make_strategy
from tests.tuning.spaces import STILL_IMPROVING, UNSTABLE, record, space


@pytest.mark.parametrize("name, kind", [
    ("lr", "learning_rate"), ("learning_rate", "learning_rate"), ("lora-lr", "learning_rate"),
    ("epochs", "epochs"), ("num_train_epochs", "epochs"), ("max_steps", "epochs"),
    ("weight_decay", "weight_decay"), ("l2", "weight_decay"), ("lora_dropout", "dropout"),
    ("per_device_train_batch_size", "batch_size"), ("hidden", "model_capacity"), ("lora_r", "model_capacity"),
    ("seed", None), ("optimizer", None),
])
def test_param_kind_maps_script_names_to_the_analyzers_vocabulary(name, kind):
    assert param_kind(name) == kind


def test_moves_follow_the_findings_on_tuned_numeric_parameters():
    sp = space()
    moves_ = suggested_moves([UNSTABLE, STILL_IMPROVING], sp)
    assert [(m.param, m.direction, m.code) for m in moves_] == [("lr", -1, "diverged"), ("epochs", 1, "still_improving")]


def test_steps_stay_in_range_and_integers_always_move():
    sp = space()
    lr, epochs = sp.get("lr"), sp.get("epochs")
    up = moves.step(lr, 0.01, +1, 0.25)
    assert 0.01 < up <= 0.1 and abs(moves.to_unit(lr, up) - moves.to_unit(lr, 0.01) - 0.25) < 1e-3
    assert moves.step(lr, 0.1, +1, 0.25) is None  # already at the top
    assert moves.step(epochs, 10, +1, 0.001) == 11  # a tiny step still changes an integer
    assert moves.step(epochs, 40, +1, 0.2) is None
    assert moves.distance(sp, {"lr": 0.01, "epochs": 10, "optimizer": "adam"},
                          {"lr": 0.01, "epochs": 10, "optimizer": "sgd"}) == float("inf")


def test_advised_point_applies_the_best_trials_finding():
    sp = space()
    history = [record(1, sp.defaults(), 0.80, findings=[STILL_IMPROVING])]
    choice = advised_point(history, sp)
    assert choice is not None and choice.source == "analysis"
    assert choice.params["epochs"] > 10 and choice.params["lr"] == 0.01 and choice.params["optimizer"] == "adam"
    assert "still rising" in choice.rationale and "epochs 10 →" in choice.rationale
    # Once that point ran, the same advice is not repeated.
    history.append(record(2, choice.params, 0.79))
    assert advised_point(history, sp) is None


def test_analysis_only_sampler_runs_at_most_one_analysis_trial_in_four():
    sp = space()
    strategy = AdvisedSamplerStrategy("tpe", local=False)
    history = [record(1, sp.defaults(), 0.80, findings=[STILL_IMPROVING])]
    first = strategy.propose(history, sp)
    assert first is not None and first.source == "analysis"
    history.append(record(2, first.params, 0.85, findings=[STILL_IMPROVING], choice=first))
    assert strategy.propose(history, sp) is None  # 2 finished trials: the one allowed is used
    for n in (3, 4):
        history.append(record(n, {**sp.defaults(), "lr": 0.001 * n}, 0.5))
    second = strategy.propose(history, sp)
    assert second is not None and second.params["epochs"] > first.params["epochs"]  # from the new best (trial 2)


def test_local_moves_and_the_sampler_alternate_while_neither_improves():
    sp = space()
    strategy = AdvisedSamplerStrategy("tpe")
    history = [record(1, sp.defaults(), 0.80, findings=[STILL_IMPROVING])]
    sources = []
    for n in range(2, 9):
        choice = strategy.propose(history, sp)
        sources.append(choice.source if choice else "sampler")
        params = choice.params if choice else {**sp.defaults(), "lr": 0.0001 * n}  # what the sampler might pick
        history.append(record(n, params, 0.7 + 0.001 * n if choice else 0.3, choice=choice))
    assert sources == ["analysis", "sampler", "local", "sampler", "local", "sampler", "local"]
    for r in history[1:]:
        if r["strategy"] == "local":  # one parameter moved from the best trial so far
            best = max((h for h in history if h["number"] < r["number"]), key=lambda h: h["value"])
            assert sum(best["params"][k] != r["params"][k] for k in r["params"]) == 1
            assert r["rationale"].startswith("local refinement of the best trial, pass 1")


def test_make_strategy_gives_every_strategy_one_interface():
    sp = space()
    for name in ("tpe", "random", "gp", "cmaes", "grid", "coordinate"):
        strategy = make_strategy(name, seed=0)
        assert strategy.name == name
        choice = strategy.propose([], sp)
        assert choice is None or not sp.validate(choice.params)
    assert make_strategy("tpe", advice=False).__class__.__name__ == "SamplerStrategy"


def test_local_moves_keep_the_turn_while_they_improve_the_best():
    sp = space()
    strategy = AdvisedSamplerStrategy("tpe")
    history = [record(1, sp.defaults(), 0.50)]
    sources = []
    for n in range(2, 11):
        choice = strategy.propose(history, sp)
        sources.append(choice.source if choice else "sampler")
        improving = choice is not None and n < 5
        params = choice.params if choice else {**sp.defaults(), "lr": 0.0001 * n}
        history.append(record(n, params, 0.5 + 0.01 * n if improving else 0.1, choice=choice))
    # Trials 2-4 improve, so local keeps the turn; once its success rate (3 + 1) / (n + 2) falls
    # to the sampler's untried 1/2, the sampler gets trials (here from trial 8).
    assert sources[:6] == ["local"] * 6 and sources[6] == "sampler"
    assert strategy.scores(history)["local"][0] == 3
