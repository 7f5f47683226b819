"""The research bandit and the noise-aware keep rule."""

from __future__ import annotations

import pytest

from aft_tui.tuning.acceptance import judge_change, noise_of
from aft_tui.tuning.bandit import Bandit


def test_an_arm_that_keeps_paying_off_is_chosen_most():
    bandit = Bandit(seed=7)
    for _ in range(12):
        bandit.update("catalogue", True)
        bandit.update("numeric", False)
    picks = [bandit.choose(["numeric", "catalogue"]) for _ in range(200)]
    assert picks.count("catalogue") > 180
    assert picks.count("numeric") >= 1 or bandit.rate("numeric") < 0.1  # never starved in principle


def test_choices_repeat_under_the_same_seed_and_continue_after_a_restart():
    a, b = Bandit(seed=3), Bandit(seed=3)
    seq_a = [a.choose(["x", "y", "z"]) for _ in range(20)]
    seq_b = [b.choose(["x", "y", "z"]) for _ in range(10)]
    restored = Bandit.from_dict(b.to_dict())
    seq_b += [restored.choose(["x", "y", "z"]) for _ in range(10)]
    assert seq_a == seq_b


def test_unavailable_arms_are_never_chosen_and_none_is_an_error():
    bandit = Bandit(seed=1)
    bandit.update("llm", True)
    assert {bandit.choose(["numeric"]) for _ in range(20)} == {"numeric"}
    with pytest.raises(ValueError):
        bandit.choose([])


def test_noise_is_the_spread_of_repeated_runs():
    assert noise_of([0.5, 0.5, 0.5]) == 0.0
    assert noise_of([1.0]) == 0.0
    assert noise_of([0.9, 1.1, float("nan"), 1.0]) == pytest.approx(0.1)


@pytest.mark.parametrize("direction,better,worse", [("max", 0.95, 0.85), ("min", 0.85, 0.95)])
def test_a_gain_beyond_twice_the_noise_is_kept_a_smaller_one_is_confirmed_first(direction, better, worse):
    assert judge_change([better], 0.9, direction, noise=0.01).decision == "keep"
    small = 0.905 if direction == "max" else 0.895
    first = judge_change([small], 0.9, direction, noise=0.01)
    assert first.decision == "confirm" and "noise" in first.sentence
    # the confirming run must hold the gain up: the mean of both is judged against a two-run margin
    assert judge_change([small, small + (0.03 if direction == "max" else -0.03)], 0.9, direction, 0.01).decision == "keep"
    assert judge_change([small, 0.9], 0.9, direction, 0.01).decision == "discard"
    assert judge_change([worse], 0.9, direction, noise=0.01).decision == "discard"


def test_without_noise_any_strict_gain_counts_and_no_value_is_a_discard():
    assert judge_change([0.9000001], 0.9, "max", 0.0).decision == "keep"
    assert judge_change([0.9], 0.9, "max", 0.0).decision == "discard"
    assert judge_change([float("nan")], 0.9, "max", 0.0).decision == "discard"
    assert judge_change([0.3], None, "min", 0.0).decision == "keep"


def test_every_arm_is_tried_once_before_the_posteriors_decide():
    bandit = Bandit(seed=5)
    for _ in range(5):
        bandit.update("numeric", True)
    assert bandit.choose(["numeric", "catalogue", "llm"]) == "catalogue"
    bandit.update("catalogue", False)
    assert bandit.choose(["numeric", "catalogue", "llm"]) == "llm"


def test_an_arm_that_stopped_paying_off_loses_its_lead_to_one_that_pays_now():
    bandit = Bandit(seed=11)
    for _ in range(12):  # the optimizer paid off early ...
        bandit.update("numeric", True)
    for _ in range(8):  # ... then hit a plateau
        bandit.update("numeric", False)
    bandit.update("catalogue", True)
    picks = [bandit.choose(["numeric", "catalogue"]) for _ in range(200)]
    assert picks.count("catalogue") > 150
    restored = Bandit.from_dict(bandit.to_dict())
    assert restored.arms["numeric"].recent == [0] * 8 and restored.arms["numeric"].kept == 12


def test_the_noise_shrinks_with_a_loss_that_fell_far_below_the_baseline():
    from aft_tui.tuning.acceptance import noise_at

    assert noise_at(0.01, 1.0, 0.01) == pytest.approx(0.0001)  # a hundredfold lower loss
    assert noise_at(0.01, 0.5, 0.9) == 0.01  # a higher accuracy keeps the baseline's spread
    assert noise_at(0.01, -2.0, 1.0) == 0.01 and noise_at(0.0, 1.0, 0.5) == 0.0
    assert judge_change([0.008], 0.01, "min", noise_at(0.01, 1.0, 0.01)).decision == "keep"
