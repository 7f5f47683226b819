"""Each function of the Optuna adapter against the installed Optuna, on a journal file.

These are the Optuna internals AFT relies on: an Optuna release that moves one fails here, by
the function's name, before a session meets it."""

from __future__ import annotations

import itertools
import os
import re
from pathlib import Path

import optuna
import pytest
from optuna.storages import JournalStorage
from optuna.trial import TrialState

from aft_tui.tuning import optuna_adapter as adapter
from aft_tui.tuning.study import storage_for

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _study(tmp_path: Path, **kwargs) -> optuna.Study:
    return optuna.create_study(study_name="s", storage=storage_for(tmp_path), **kwargs)


def _reopened(tmp_path: Path) -> optuna.Study:
    """The study as another process would read it back from the journal file."""
    storage = JournalStorage(adapter.unsynced_journal_backend(str(tmp_path / "optuna.journal")))
    return optuna.load_study(study_name="s", storage=storage)


def test_unsynced_journal_backend_appends_whole_lines_without_fsync(tmp_path, monkeypatch):
    def no_fsync(fd: int) -> None:
        raise AssertionError("the journal must not fsync each append")

    monkeypatch.setattr(os, "fsync", no_fsync)
    study = _study(tmp_path, direction="maximize")
    for x in (0.25, 0.5):
        trial = study.ask({"x": optuna.distributions.FloatDistribution(0.0, 1.0)})
        trial.report(x / 2, 1)
        study.tell(trial, x)
    text = (tmp_path / "optuna.journal").read_text()
    assert text.endswith("\n") and all(line.startswith("{") for line in text.splitlines())
    assert not list(tmp_path.glob("*.lock"))  # the file lock was taken and given back
    again = _reopened(tmp_path)
    assert [t.value for t in again.trials] == [0.25, 0.5]
    assert again.trials[1].intermediate_values == {1: 0.25}


def test_set_trial_system_attr_on_a_running_trial(tmp_path):
    study = _study(tmp_path)
    trial = study.ask()
    frozen = study.get_trials(deepcopy=False)[0]
    adapter.set_trial_system_attr(study, frozen, "grid_id", 3)
    adapter.set_trial_system_attr(study, trial, "search_space", {"x": [1, 2]})
    attrs = _reopened(tmp_path).trials[0].system_attrs
    assert attrs["grid_id"] == 3 and attrs["search_space"] == {"x": [1, 2]}


def test_set_trial_user_attr_on_a_live_and_a_frozen_trial(tmp_path):
    study = _study(tmp_path)
    live = study.ask()
    adapter.set_trial_user_attr(study, live, "aft_status", "failed")
    study.ask()
    frozen = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))[1]
    assert hasattr(frozen, "state")  # a FrozenTrial, as when reconciling after a crash
    adapter.set_trial_user_attr(study, frozen, "aft_penalised", True)
    trials = _reopened(tmp_path).trials
    assert trials[0].user_attrs == {"aft_status": "failed"}
    assert trials[1].user_attrs == {"aft_penalised": True}


def test_grid_sampler_internals(tmp_path):
    grid = {"y": ["a", "b"], "x": [1, 2, 3]}
    sampler = optuna.samplers.GridSampler(grid, seed=7)
    assert adapter.grid_param_names(sampler) == ["x", "y"]
    assert adapter.grid_search_space(sampler) == {"x": [1, 2, 3], "y": ["a", "b"]}
    points = adapter.grid_points(sampler)
    assert sorted(points) == sorted(itertools.product([1, 2, 3], ["a", "b"]))
    assert points == adapter.grid_points(optuna.samplers.GridSampler(grid, seed=7))  # the seeded order
    study = _study(tmp_path, sampler=sampler)
    assert sorted(adapter.unvisited_grid_ids(sampler, study)) == list(range(6))
    trial = study.ask()
    x, y = trial.suggest_int("x", 1, 3), trial.suggest_categorical("y", ["a", "b"])
    study.tell(trial, 1.0)
    grid_id = study.trials[0].system_attrs["grid_id"]
    assert points[grid_id] == (x, y)
    assert sorted(adapter.unvisited_grid_ids(sampler, study)) == sorted(set(range(6)) - {grid_id})


def _hyperband_study(tmp_path: Path, factor: int) -> tuple[optuna.Study, optuna.pruners.HyperbandPruner]:
    pruner = optuna.pruners.HyperbandPruner(min_resource=1, reduction_factor=factor)
    study = _study(tmp_path, direction="maximize", pruner=pruner)
    for n in range(6):
        trial = study.ask()
        for step in range(1, 10):
            trial.report(n + step / 10, step)
            if trial.should_prune():
                study.tell(trial, state=TrialState.PRUNED)
                break
        else:
            study.tell(trial, n + 0.9)
    return study, pruner


def test_hyperband_internals(tmp_path):
    study, pruner = _hyperband_study(tmp_path, factor=2)
    count = adapter.hyperband_bracket_count(pruner)
    assert isinstance(count, int) and count >= 2
    trials = study.get_trials(deepcopy=False)
    brackets = [adapter.hyperband_bracket(pruner, study, t) for t in trials]
    assert all(isinstance(b, int) and 0 <= b < count for b in brackets)
    assert adapter.hyperband_reduction_factor(pruner) == 2
    assert adapter.hyperband_bracket(optuna.pruners.NopPruner(), study, trials[0]) is None
    assert adapter.hyperband_bracket_count(optuna.pruners.NopPruner()) is None


def test_completed_rungs_reads_successive_halving_records(tmp_path):
    study, _ = _hyperband_study(tmp_path, factor=3)
    rungs = [adapter.completed_rungs(t) for t in study.get_trials(deepcopy=False)]
    assert any(rungs), "successive halving recorded no rung"
    for trial, by_rung in zip(study.get_trials(deepcopy=False), rungs):
        for rung, value in by_rung.items():
            assert trial.system_attrs[f"{adapter.RUNG_PREFIX}{rung}"] == value
            assert value in trial.intermediate_values.values()


PRIVATE = re.compile(r"(?<!\w)(_storage|_trial_id|_study_id|_get_bracket_id|_n_brackets|_reduction_factor|_all_grids"
                     r"|_param_names|_get_unvisited_grid_ids|_search_space|_file_path)\b|completed_rung_"
                     r"|optuna\.storages\.journal\._")


@pytest.mark.parametrize("root", ["aft_tui"])
def test_no_module_but_the_adapter_touches_optuna_internals(root):
    package = Path(__file__).resolve().parents[2] / root
    users = sorted(str(p.relative_to(package.parent)) for p in package.rglob("*.py")
                   if p.name != "optuna_adapter.py" and PRIVATE.search(p.read_text(encoding="utf-8")))
    assert users == [], "Optuna internals belong in aft_tui/tuning/optuna_adapter.py"
