"""When failures stop a session: the baseline's failure at once, the same failure three times in a row."""

from __future__ import annotations

from aft_tui.runs.diagnosis import diagnose
from aft_tui.tuning.failures import STREAK, FailFast


def _crash(line: str):
    return diagnose(1, ["Traceback (most recent call last):", '  File "train.py", line 3', line])


def test_a_failing_baseline_stops_at_once():
    d = _crash("ModuleNotFoundError: No module named 'tensorboard'")
    sentence = FailFast().observe("failed", d, baseline=True)
    assert sentence and "Trial 1" in sentence and "pip install tensorboard" in sentence
    assert FailFast().observe("ok", None, baseline=True) is None


def test_the_same_failure_in_a_row_stops_whatever_the_values():
    rule = FailFast()
    lines = [f"RuntimeError: shard {n} of the checkpoint is missing at step {n * 10}" for n in range(STREAK)]
    said = [rule.observe("failed", _crash(line), baseline=False) for line in lines]
    assert said[:-1] == [None] * (STREAK - 1)
    assert said[-1] and f"{STREAK} trials in a row failed the same way" in said[-1]


def test_different_failures_successes_and_divergence_reset_the_count_and_cancels_do_not():
    rule = FailFast()
    same = _crash("KeyError: 'labels'")
    assert rule.observe("failed", same, False) is None
    assert rule.observe("failed", same, False) is None
    assert rule.observe("pruned", None, False) is None  # the script ran: the count starts again
    assert rule.observe("failed", same, False) is None
    assert rule.observe("failed", _crash("ValueError: bad shape"), False) is None
    assert rule.observe("failed", same, False) is None
    diverged = diagnose(0, [], reason="'val_loss' became nan (diverged)")
    for _ in range(STREAK + 1):
        assert rule.observe("failed", diverged, False) is None  # the values' fault, not the script's
    assert rule.observe("failed", same, False) is None
    assert rule.observe("cancelled", None, False) is None  # says nothing either way
    assert rule.observe("failed", same, False) is None
    assert rule.observe("failed", same, False) is not None


def test_a_diverging_baseline_goes_on_since_tuning_can_fix_it():
    diverged = diagnose(0, [], reason="'val_loss' became nan (diverged)")
    assert FailFast().observe("failed", diverged, baseline=True) is None
