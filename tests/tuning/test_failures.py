"""Failures are data: crashed, out-of-memory and diverged regions are avoided afterwards."""

from __future__ import annotations

import math

import pytest

from aft_tui.tuning import failures
from tests.tuning.conftest import load_study, tune
from tests.tuning.spaces import record, space


def test_near_failure_needs_same_categories_and_close_numbers():
    sp = space()
    failed = record(2, {"lr": 0.05, "epochs": 10, "optimizer": "adam"}, None, status="failed",
                    reason="ran out of memory (exit code 1)")
    history = [record(1, sp.defaults(), 0.8), failed]
    assert failures.near_failure(sp, {"lr": 0.051, "epochs": 11, "optimizer": "adam"}, history) is failed
    assert failures.near_failure(sp, {"lr": 0.051, "epochs": 11, "optimizer": "sgd"}, history) is None
    assert failures.near_failure(sp, {"lr": 0.01, "epochs": 10, "optimizer": "adam"}, history) is None
    assert failures.failure_kind(failed) == "oom"
    assert failures.failure_kind({"reason": "'val_acc' became nan (diverged)"}) == "diverged"
    assert failures.penalty_value(history, "max") == 0.8 and failures.penalty_value(history, "min") == 0.8


def _crash_share(penalise: bool) -> float:
    """Share of TPE's proposals (after its start-up trials) that land where trials crash (x > 0.6)."""
    import optuna
    from optuna.trial import TrialState

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=3, n_startup_trials=5))
    history, landed = [], 0
    for n in range(40):
        trial = study.ask({"x": optuna.distributions.FloatDistribution(0.0, 1.0)})
        x = trial.params["x"]
        crashed = x > 0.6
        landed += crashed and n >= 5
        if crashed:
            history.append({"status": "failed", "value": None})
            if penalise:
                failures.tell(study, trial, "failed", None, history, "max", "ran out of memory")
            else:
                study.tell(trial, state=TrialState.FAIL)
        else:
            value = x  # the best results sit right next to the crash region
            history.append({"status": "ok", "value": value})
            failures.tell(study, trial, "ok", value, history, "max")
    return landed / 35


def test_penalised_failures_steer_tpe_away_from_the_crash_region():
    told_fail, penalised = _crash_share(False), _crash_share(True)
    assert penalised < told_fail / 2, (penalised, told_fail)


@pytest.mark.slow
async def test_failed_trials_are_recorded_as_failed_and_told_with_a_penalty(curve_project, monkeypatch):
    monkeypatch.setenv("AFT_TEST_CRASH_ABOVE", "0.02")
    summary, records, engine = await tune(curve_project, 7, strategy="random", seed=1)
    failed = [r for r in records if r["status"] == "failed"]
    ok = [r for r in records if r["status"] == "ok"]
    assert failed and ok, [(r["status"], r["params"]["lr"]) for r in records]
    kinds = {failures.failure_kind(r) for r in failed}
    assert kinds <= {"oom", "diverged"} and "oom" in kinds
    study = load_study(engine)
    by_number = {t.number: t for t in study.trials}
    worst = min(r["value"] for r in ok)
    for r in failed:
        t = by_number[r["optuna_trial"]]
        later_ok = [o for o in ok if o["number"] < r["number"]]
        if later_ok:  # told as complete with the worst value seen so far, labelled as a penalty
            assert t.user_attrs.get("aft_penalised") is True and t.user_attrs.get("aft_status") == "failed"
            assert t.value >= worst - 1e-12 and math.isfinite(t.value)
        assert r["reason"]
