"""The parameters a code change runs with: the best so far, then, when it did not pay off with
those, another learning rate before it is discarded.

The best parameters were found for the code as it was. A change to the schedule, the optimizer
or the loss moves the learning rate that suits it: cosine decay spends most of the run below the
peak rate, so it usually wants a higher one; AdamW's decay and clipping interact with it too.
Judging such a change at the old rate alone throws away ideas that pay once the rate follows
them. So a change first judged "not better" runs again at twice the rate, then at four times
it when twice helped, or at half when it hurt: at most two more runs, a short line search on the
one parameter every training recipe interacts with. The change is discarded (and taken back)
only when none of them beats the best; the bandit hears one outcome for the whole change.

Some changes need a parameter the script keeps at 0 (AdamW with no weight decay is Adam): the
change runs with the value its recipe names instead (`switched_on`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aft_tui.engine.research.records import Experiment
from aft_tui.formatting import fmt_value
from aft_tui.tuning.acceptance import gain
from aft_tui.tuning.advice import param_kind
from aft_tui.tuning.space import Dimension, SearchSpace

MAX_RETUNES = 2
"""Runs of a change at another learning rate before it is discarded."""


@dataclass
class Retune:
    """A code change whose learning rate is being retuned: its first experiment, and the
    factors tried so far with their values."""

    first: Experiment
    tried: list[tuple[float, float]] = field(default_factory=list)  # (factor, value)

    def next_factor(self, direction: str) -> float | None:
        """×2 first; then ×4 when ×2 beat the first run, ×0.5 when it did not; then stop."""
        if not self.tried:
            return 2.0
        if len(self.tried) >= MAX_RETUNES or self.first.value is None:
            return None
        factor, value = self.tried[-1]
        return factor * 2 if gain(value, self.first.value, direction) > 0 else 0.5

    def next_run(self, space: SearchSpace | None, direction: str) -> tuple[float, dict[str, Any], str] | None:
        """(factor, parameters, words) of the next run; None when there is none, or when the range
        clips the rate to one already run (×4 at the top of the range is ×2 again)."""
        factor = self.next_factor(direction)
        moved = scaled(space, self.first.params, factor) if factor is not None else None
        if factor is None or moved is None:
            return None
        earlier = [scaled(space, self.first.params, f) for f, _ in self.tried]
        if any(run is not None and run[0] == moved[0] for run in earlier):
            return None
        return factor, *moved


def learning_rate(space: SearchSpace | None) -> Dimension | None:
    """The search space's learning rate: one float dimension the analyzer reads as one."""
    if space is None:
        return None
    rates = [d for d in space.dims if d.kind == "float" and param_kind(d.name) == "learning_rate"]
    return rates[0] if len(rates) == 1 else None


def scaled(space: SearchSpace | None, params: dict[str, Any], factor: float) -> tuple[dict[str, Any], str] | None:
    """`params` with the learning rate times `factor` (kept inside its range), and a few words
    saying so; None when there is no learning rate to move, or the range leaves no room."""
    dim = learning_rate(space)
    if dim is None or dim.low is None or dim.high is None:
        return None
    try:
        current = float(params.get(dim.name, dim.default))
    except (TypeError, ValueError):
        return None
    if current <= 0:
        return None
    value = min(float(dim.high), max(float(dim.low), current * factor))
    if abs(value - current) <= 1e-12 * max(1.0, abs(current)):
        return None
    value = float(f"{value:.4g}")
    words = f"learning rate ×{fmt_value(factor)} ({dim.name}={fmt_value(value)})"
    return {**params, dim.name: value}, words


def switched_on(space: SearchSpace | None, params: dict[str, Any],
                run_with: dict[str, float]) -> tuple[dict[str, Any], dict[str, Any]]:
    """`params` with each parameter the change needs (RecipeEdit.run_with, by what it controls)
    moved off 0 where the script has it at 0, and what was moved. AdamW run with the script's
    weight decay of 0 is Adam again: the experiment would measure nothing."""
    if space is None or not run_with:
        return params, {}
    raised: dict[str, Any] = {}
    for dim in space.dims:
        value = run_with.get(param_kind(dim.name) or "")
        if value is None or dim.kind != "float" or params.get(dim.name, dim.default) != 0 or not dim.contains(value):
            continue
        raised[dim.name] = value
    return {**params, **raised}, raised
