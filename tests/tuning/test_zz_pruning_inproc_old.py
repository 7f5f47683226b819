"""Pruning from live metrics: a pruned trial is recorded as pruned, with its step and a reason
that names the rule and the comparison. Bad trials of the test script are worse from epoch 1."""

from __future__ import annotations

import re

import pytest

from tests.tuning.conftest import session_events, tune

pytestmark = pytest.mark.slow


def _check_pruned(records, engine, pattern: str) -> list[dict]:
    pruned = [r for r in records if r["status"] == "pruned"]
    assert pruned, [(r["number"], r["status"], r["value"]) for r in records]
    for r in pruned:
        assert isinstance(r["pruned_at"], int) and r["pruned_at"] >= 1
        assert re.search(pattern, r["reason"]), r["reason"]
        assert f"at step {r['pruned_at']}" in r["reason"]
        # Stopped early: fewer epochs ran than the script would have run.
        assert len(r["history"]) < {**r["fixed"], **r["params"]}["epochs"]
    finished = {e["run_id"]: e for e in session_events(engine) if e["kind"] == "trial_finished"}
    for r in pruned:
        assert finished[r["run_id"]]["status"] == "pruned" and finished[r["run_id"]]["reason"] == r["reason"]
    return pruned


async def test_median_rule_prunes_and_says_against_what(curve_project, monkeypatch):
    monkeypatch.setenv("AFT_TEST_SLEEP", "0.25")  # time for the live metrics to be read on a loaded machine
    _, records, engine = await tune(curve_project, 8, strategy="random", seed=2, pruner="median",
                                    search={"epochs": {"fixed": 6}})
    pruned = _check_pruned(records, engine, r"^median rule: val_acc=[\d.]+ at step \d+ is below the median "
                                            r"[\d.]+ of the \d+ other trials at step \d+( by more than the noise \(±[\d.e-]+\))?$")
    numbers = re.findall(r"[\d.]+", pruned[0]["reason"])
    value, median = float(numbers[0]), float(numbers[2])
    assert value < median


async def test_hyperband_rule_prunes_and_says_against_what(curve_project, monkeypatch):
    monkeypatch.setenv("AFT_TEST_SLEEP", "0.25")
    _, records, engine = await tune(curve_project, 10, strategy="random", seed=5, pruner="hyperband",
                                    search={"epochs": {"fixed": 9}})
    _check_pruned(records, engine, r"^successive-halving rule \(Hyperband, bracket \d of \d, rung \d\): "
                                   r"val_acc=[\d.]+ at step \d+ is not in the top 1/3 of the \d+ trials? of its "
                                   r"bracket that reached this rung \(the top \d+ needed at least [\d.]+\)$")
