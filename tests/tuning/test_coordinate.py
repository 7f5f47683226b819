"""Coordinate descent (the original AutoFineTuner's method) on pretend histories."""

from __future__ import annotations

import math

from aft_tui.tuning.coordinate import CoordinateStrategy
from tests.tuning.spaces import STILL_IMPROVING, UNSTABLE, record, space


def objective(params) -> float:
    """Best at lr=0.003, as many epochs as possible, 'sgd'."""
    return (0.9 - 0.05 * (math.log10(params["lr"]) - math.log10(0.003)) ** 2 + 0.002 * params["epochs"]
            + 0.01 * (params["optimizer"] == "sgd"))


def run(strategy: CoordinateStrategy, trials: int, first_findings=None, fail=lambda p: False):
    sp = space()
    history = [record(1, sp.defaults(), objective(sp.defaults()), findings=first_findings)]
    for n in range(2, trials + 1):
        choice = strategy.propose(history, sp)
        assert choice is not None, f"no proposal for trial {n}"
        assert not sp.validate(choice.params) and set(choice.params) == {d.name for d in sp}
        failed = fail(choice.params)
        history.append(record(n, choice.params, None if failed else objective(choice.params),
                              status="failed" if failed else "ok", choice=choice,
                              reason="ran out of memory (exit code 1)" if failed else ""))
    return history


def best_before(history, n):
    ok = [r for r in history if r["number"] < n and r["status"] == "ok"]
    return max(ok, key=lambda r: r["value"])


def test_one_parameter_at_a_time_from_the_best_so_far_within_the_per_parameter_limit():
    history = run(CoordinateStrategy(per_param_trials=2), 12)
    runs: list[tuple[str, int]] = []
    for r in history[1:]:
        base = best_before(history, r["number"])["params"]
        changed = [k for k in base if base[k] != r["params"][k]]
        assert len(changed) == 1, (r["number"], changed)
        assert r["strategy"] == "coordinate" and r["strategy_info"]["coordinate"]["param"] == changed[0]
        key = (changed[0], r["strategy_info"]["coordinate"]["pass"])
        runs.append(key)
    # Each parameter gets its turn in one block per pass, never more than the limit.
    for key in set(runs):
        assert runs.count(key) <= 2
        first, last = runs.index(key), len(runs) - 1 - runs[::-1].index(key)
        assert all(k == key for k in runs[first:last + 1])
    assert [p for p, _ in runs[:6:2]] == ["lr", "epochs", "optimizer"]  # learning rate first without advice


def test_analysis_sets_the_first_move_and_improvement_sets_the_next():
    history = run(CoordinateStrategy(per_param_trials=3), 4, first_findings=[STILL_IMPROVING])
    assert [r["strategy_info"]["coordinate"]["param"] for r in history[1:]] == ["epochs"] * 3
    epochs = [r["params"]["epochs"] for r in history]
    assert epochs[0] < epochs[1] < epochs[2] < epochs[3]  # up (advice), then keep going while it helps
    assert "the analysis of trial 1 (still improving) suggests raising it" in history[1]["rationale"]
    assert "trial 2 improved by moving epochs this way; continuing" in history[2]["rationale"]


def test_divergence_advice_lowers_the_learning_rate_first():
    sp = space()
    strategy = CoordinateStrategy()
    choice = strategy.propose([record(1, sp.defaults(), 0.7, findings=[UNSTABLE])], sp)
    assert choice.params["lr"] < 0.01 and choice.params["epochs"] == 10
    assert "lowering" in choice.rationale


def test_a_move_that_did_not_help_is_followed_by_the_other_direction():
    sp = space()
    strategy = CoordinateStrategy()
    history = [record(1, sp.defaults(), 0.8)]
    up = strategy.propose(history, sp)
    assert up.params["lr"] > 0.01
    history.append(record(2, up.params, 0.5, choice=up))
    down = strategy.propose(history, sp)
    assert down.params["lr"] < 0.01 and "other direction" in down.rationale


def test_time_limit_per_parameter_moves_on():
    sp = space()
    now = [1000.0]
    strategy = CoordinateStrategy(per_param_trials=5, per_param_seconds=60, clock=lambda: now[0])
    history = [record(1, sp.defaults(), 0.8)]
    first = strategy.propose(history, sp)
    history.append(record(2, first.params, 0.5, choice=first, started_at=now[0]))
    assert first.extra["coordinate"]["param"] == "lr"
    now[0] += 61
    nxt = strategy.propose(history, sp)
    assert nxt.extra["coordinate"]["param"] == "epochs"


def test_failed_regions_are_not_proposed_again():
    sp = space()
    strategy = CoordinateStrategy(per_param_trials=4)
    history = run(strategy, 6, fail=lambda p: p["lr"] > 0.011)
    failed = [r for r in history if r["status"] == "failed"]
    assert len(failed) == 1  # lr up crashed once; no later proposal lands near that lr
    bad = failed[0]["params"]["lr"]
    for r in history:
        if r is not failed[0] and r["params"]["epochs"] == failed[0]["params"]["epochs"]:
            assert abs(math.log10(r["params"]["lr"]) - math.log10(bad)) > 0.05 * 3


def test_pending_proposals_are_not_repeated_in_parallel():
    sp = space()
    strategy = CoordinateStrategy()
    history = [record(1, sp.defaults(), 0.8)]
    a = strategy.propose(history, sp)
    b = strategy.propose(history, sp)  # a is still running
    assert a.params != b.params
