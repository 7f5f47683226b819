"""Strategies behind one interface.

Every strategy runs through an Optuna study (so storage, resume and pruning are shared).
Model-based ones are Optuna samplers; rule-based ones (`coordinate`, and the LLM-driven
ones) implement `Strategy.propose` and hand their choice to the study with
`enqueue_trial`, so the trial record is the same whoever chose it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Awaitable, Protocol

from aft_tui.errors import UserError
from aft_tui.tuning.space import SearchSpace

SAMPLER_STRATEGIES = ("tpe", "random", "gp", "cmaes", "grid")
ALL_STRATEGIES = SAMPLER_STRATEGIES + ("coordinate", "llm", "hybrid")
PRUNERS = ("median", "hyperband", "none")
ADVISED_SAMPLERS = ("tpe", "gp", "cmaes")  # model-based samplers also run the curve analysis' moves (advice.py)


@dataclass
class Choice:
    """A parameter assignment and why it was chosen (goes into the commit message)."""

    params: dict[str, Any]
    rationale: str = ""
    source: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


class Strategy(Protocol):
    name: str

    def propose(self, history: list[dict[str, Any]], space: SearchSpace) -> "Choice | None | Awaitable[Choice | None]":
        """Return a choice, or None to let the study's sampler decide.

        Model-backed strategies (`llm`, `hybrid`) are coroutines; the tuner awaits the
        result whenever it is awaitable, so rule-based strategies can stay plain functions.
        """


class SamplerStrategy:
    """A strategy that is entirely an Optuna sampler."""

    def __init__(self, name: str) -> None:
        self.name = name

    def propose(self, history: list[dict[str, Any]], space: SearchSpace) -> Choice | None:
        return None


def check_strategy(name: str) -> None:
    if name not in ALL_STRATEGIES:
        raise UserError(f"Unknown strategy '{name}'; choose one of: {', '.join(ALL_STRATEGIES)}.")


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


def make_strategy(name: str, **kwargs: Any) -> Strategy:
    """The strategy called `name`; `engine` (for the model and Info sentences) and `seed` are optional."""
    check_strategy(name)
    if name in ("llm", "hybrid"):
        from aft_tui.tuning.llm_strategy import HybridStrategy, LLMStrategy

        cls = LLMStrategy if name == "llm" else HybridStrategy
        return cls(engine=kwargs.get("engine"), brain=kwargs.get("brain"), seed=int(kwargs.get("seed") or 0))
    settings = kwargs.get("settings") or getattr(kwargs.get("engine"), "settings", None)
    if name == "coordinate":
        from aft_tui.tuning.coordinate import PER_PARAM_TRIALS, CoordinateStrategy

        return CoordinateStrategy(per_param_trials=int(getattr(settings, "coordinate_trials", None) or PER_PARAM_TRIALS),
                                  per_param_seconds=getattr(settings, "coordinate_time", None))
    if name in ADVISED_SAMPLERS and kwargs.get("advice", getattr(settings, "advice", True)):
        from aft_tui.tuning.advice import AdvisedSamplerStrategy

        return AdvisedSamplerStrategy(name)
    return SamplerStrategy(name)
