"""End conditions besides the trial budget: target, patience, stagnation below the noise."""

from __future__ import annotations

import pytest

from aft_tui.tuning.end_conditions import end_reason, noise_estimate
from tests.tuning.conftest import tune
from tests.tuning.spaces import STILL_IMPROVING, record


def _records(values, findings=None, params=None):
    return [record(i + 1, (params or (lambda i: {"lr": 0.001 * (i + 1)}))(i), v, findings=findings,
                   started_at=float(i)) for i, v in enumerate(values)]


def test_target_reached():
    records = _records([0.5, 0.7, 0.91])
    assert end_reason(records, "max", target_value=0.9) == "target 0.9 reached"
    assert end_reason(records, "max", target_value=0.95) is None
    assert end_reason(_records([0.5, 0.2]), "min", target_value=0.3) == "target 0.3 reached"


def test_patience_counts_trials_since_the_best():
    records = _records([0.5, 0.9, 0.8, 0.7])
    assert end_reason(records, "max", patience=2) == "no improvement in 2 trials"
    assert end_reason(records, "max", patience=3) is None


def test_stagnation_uses_the_noise_of_the_curves():
    # The last 3 trials improved the best by 0.001, below the curves' noise of 0.002.
    records = _records([0.80, 0.90, 0.9005, 0.901, 0.8], findings=[STILL_IMPROVING])
    assert noise_estimate(records) == (0.002, "the epoch-to-epoch scatter of the learning curves")
    reason = end_reason(records, "max", stagnation=3)
    assert reason.startswith("stagnation: the best improved by 0.001 over the last 3 trials, not more than the noise ±0.002")
    # A real improvement (well above the noise) keeps tuning going.
    assert end_reason(_records([0.80, 0.85, 0.90, 0.95, 0.96], findings=[STILL_IMPROVING]), "max", stagnation=3) is None


def test_stagnation_prefers_repeated_runs_as_the_noise():
    same = lambda i: {"lr": 0.001} if i < 2 else {"lr": 0.001 * (i + 1)}
    records = _records([0.90, 0.92, 0.91, 0.915, 0.912], params=same)
    noise, source = noise_estimate(records)
    assert source == "repeated runs of the same parameters" and abs(noise - 0.01414) < 1e-3
    assert end_reason(records, "max", stagnation=3).startswith("stagnation")


def test_stagnation_without_a_noise_estimate_means_no_improvement_at_all():
    assert end_reason(_records([0.5, 0.6, 0.6, 0.6]), "max", stagnation=2).endswith("zero (no noise estimate yet)")
    assert end_reason(_records([0.5, 0.6, 0.6, 0.61]), "max", stagnation=2) is None


@pytest.mark.slow
async def test_stagnation_stops_a_real_session_early(curve_project):
    # Only width and optimizer vary (6 settings, the script has no noise): once the best of them
    # has run, nothing can improve and the session ends within 3 more trials.
    summary, records, _ = await tune(curve_project, 14, strategy="random", stagnation=3,
                                     search={"lr": {"fixed": 0.01}, "epochs": {"fixed": 3}})
    assert summary["end_reason"].startswith("stagnation: the best improved by 0 over the last 3 trials"), summary
    assert len(records) < 14
