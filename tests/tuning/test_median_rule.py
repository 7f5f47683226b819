"""The median rule's corrections to Optuna's MedianPruner, on an in-memory study."""

from __future__ import annotations

import optuna
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

from aft_tui.tuning.pruning import explain, median_rule

optuna.logging.set_verbosity(optuna.logging.WARNING)
DIST = {"x": FloatDistribution(0, 1)}


def _study(curves: list[tuple[list[float], TrialState]]) -> optuna.Study:
    study = optuna.create_study(direction="maximize", pruner=median_rule())
    for values, state in curves:
        study.add_trial(create_trial(params={"x": 0.5}, distributions=DIST, state=state,
                                     value=values[-1] if state == TrialState.COMPLETE else None,
                                     intermediate_values=dict(enumerate(values, start=1))))
    return study


def _prunes(study: optuna.Study, values: list[float]) -> bool:
    trial = study.ask(DIST)
    for step, v in enumerate(values, start=1):
        trial.report(v, step)
    return trial.should_prune()


SMOOTH = [0.5, 0.6, 0.7, 0.75, 0.8, 0.82, 0.84, 0.85, 0.86]  # 9 steps: warm-up is the first 3


def test_no_pruning_in_the_warm_up_third_of_a_run():
    study = _study([(SMOOTH, TrialState.COMPLETE)] * 5)
    assert not _prunes(study, [0.1, 0.1])  # terrible, but step 2 < 9 / 3
    assert _prunes(study, [0.1, 0.1, 0.1])


def test_trials_pruned_later_count_at_the_steps_they_reached():
    # Two completed survivors are strong; three trials pruned at step 5 were weak until then.
    weak = [0.3, 0.35, 0.4, 0.42, 0.44]
    study = _study([(SMOOTH, TrialState.COMPLETE)] * 2 + [(weak, TrialState.PRUNED)] * 3)
    # At step 4 the median of all five is 0.42, so 0.6 survives (Optuna's rule would compare
    # with the two survivors only, 0.75, and prune it).
    assert not _prunes(study, [0.45, 0.5, 0.55, 0.6])


def test_level_with_the_median_within_noise_is_not_pruned():
    noisy = [0.5, 0.62, 0.66, 0.77, 0.76, 0.86, 0.82, 0.88, 0.85]
    study = _study([(noisy, TrialState.COMPLETE)] * 5)
    assert not _prunes(study, [0.5, 0.6, 0.64, 0.76])  # 0.01 below the median, noise ~0.04
    assert _prunes(study, [0.4, 0.45, 0.5, 0.55])


def test_explanation_names_rule_value_median_and_count():
    study = _study([(SMOOTH, TrialState.COMPLETE)] * 5)
    trial = study.ask(DIST)
    for step, v in enumerate([0.2, 0.25, 0.3], start=1):
        trial.report(v, step)
    assert trial.should_prune()
    text = explain(study, trial, "median", "val_acc", 0.3, 3)
    assert text == "median rule: val_acc=0.3 at step 3 is below the median 0.7 of the 5 other trials at step 3"


def test_a_trial_told_without_its_curve_does_not_switch_the_rule_off():
    # Trial 1 told only its final value (no intermediate values): the run length comes from the next.
    study = optuna.create_study(direction="maximize", pruner=median_rule())
    study.add_trial(create_trial(params={"x": 0.5}, distributions=DIST, state=TrialState.COMPLETE, value=0.86))
    for _ in range(5):
        study.add_trial(create_trial(params={"x": 0.5}, distributions=DIST, state=TrialState.COMPLETE, value=0.86,
                                     intermediate_values=dict(enumerate(SMOOTH, start=1))))
    assert not _prunes(study, [0.1, 0.1])
    assert _prunes(study, [0.1, 0.1, 0.1])


def test_a_script_that_evaluates_once_per_run_is_never_pruned():
    # Its only report comes as it finishes: pruning then would save nothing and mislabel the run.
    study = _study([([0.8], TrialState.COMPLETE)] * 5)
    assert not _prunes(study, [0.1])
