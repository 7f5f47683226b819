"""The Optuna samplers and pruners behind the strategies.

A sampler strategy (`tpe`, `random`, `gp`, `cmaes`, `grid`) is its sampler; a rule-based one
(`coordinate`, `llm`, `hybrid`) leaves to TPE every trial it does not choose itself. The
strategy interface is in `base.py`, and `registry.py` builds a strategy from its name.
"""

from __future__ import annotations

from typing import Any

from aft_tui.errors import UserError
from aft_tui.tuning.base import check_strategy
from aft_tui.tuning.space import SearchSpace

PRUNERS = ("median", "hyperband", "none")


def make_sampler(name: str, seed: int, space: SearchSpace) -> Any:
    import optuna

    check_strategy(name)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "gp":
        _require("torch", "gp", "pip install torch scipy")
        _require("scipy", "gp", "pip install scipy")
        return optuna.samplers.GPSampler(seed=seed, n_startup_trials=4)
    if name == "cmaes":
        _require("cmaes", "cmaes", "pip install cmaes")
        return optuna.samplers.CmaEsSampler(seed=seed, n_startup_trials=4)
    if name == "grid":
        return _grid_sampler(_grid(space), seed)
    return optuna.samplers.TPESampler(seed=seed, n_startup_trials=4, multivariate=True)


def _grid_sampler(grid: dict[str, list[Any]], seed: int) -> Any:
    """Optuna's GridSampler (seeded shuffled order), adapted to how AFT drives a study.

    * An enqueued trial (the defaults, a re-run) is credited with the grid point it sits on,
      so that point is not run a second time later.
    * Each new trial takes the first point (in the seeded order) that has neither run nor is
      running. Optuna's own choice ties early points to trial numbers, which an enqueued
      defaults trial shifts; first-unvisited is deterministic whether trials run one at a time
      or in parallel.
    * No `study.stop()` once the grid is exhausted: that only works inside `study.optimize`.
      The tuner ends the session itself when `is_exhausted(study)` says every point ran.
    """
    import optuna

    from aft_tui.tuning.optuna_adapter import (
        grid_param_names,
        grid_points,
        grid_search_space,
        set_trial_system_attr,
        unvisited_grid_ids,
    )

    class AskTellGridSampler(optuna.samplers.GridSampler):
        def before_trial(self, study: Any, trial: Any) -> None:
            if "grid_id" in trial.system_attrs:
                return
            points = grid_points(self)
            fixed = trial.system_attrs.get("fixed_params")
            if fixed is not None:
                point = tuple(fixed.get(name) for name in grid_param_names(self))
                grid_id = next((i for i, g in enumerate(points) if g == point), None)
            else:
                unvisited = unvisited_grid_ids(self, study)
                grid_id = min(unvisited) if unvisited else min(range(len(points)))
            if grid_id is not None:
                set_trial_system_attr(study, trial, "search_space", grid_search_space(self))
                set_trial_system_attr(study, trial, "grid_id", grid_id)

        def after_trial(self, study: Any, trial: Any, state: Any, values: Any) -> None:
            return None

    return AskTellGridSampler(grid, seed=seed)


def _require(module: str, strategy: str, fix: str) -> None:
    """Optuna imports a sampler's backend only when it first samples: fail before any trial runs."""
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise UserError(f"The {strategy} strategy needs the '{module}' package, which is not installed; "
                        f"run `{fix}` or choose another --strategy.")


def _grid(space: SearchSpace, points: int = 3) -> dict[str, list[Any]]:
    import math

    grid: dict[str, list[Any]] = {}
    for dim in space:
        if dim.kind == "categorical":
            grid[dim.name] = list(dim.choices or [])
            continue
        low, high = float(dim.low), float(dim.high)
        if dim.log:
            values = [math.exp(math.log(low) + i * (math.log(high) - math.log(low)) / (points - 1)) for i in range(points)]
        else:
            values = [low + i * (high - low) / (points - 1) for i in range(points)]
        if dim.kind == "int":
            values = sorted({int(round(v)) for v in values})
        if dim.default not in values:
            values.append(dim.default)
        grid[dim.name] = sorted(values)
    return grid


def make_pruner(name: str) -> Any:
    import optuna

    if name not in PRUNERS:
        raise UserError(f"Unknown pruner '{name}'; choose one of: {', '.join(PRUNERS)}.")
    if name == "none":
        return optuna.pruners.NopPruner()
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, reduction_factor=3)
    from aft_tui.tuning.pruning import median_rule

    return median_rule()
