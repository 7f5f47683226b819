"""Which recipes may come back: one that did not pay off with early parameters is tried once more
after the best has clearly moved on; a rejected one never comes back."""

from __future__ import annotations

from types import SimpleNamespace

from aft_tui.engine.research.store import ResearchState
from aft_tui.engine.research.verdicts import blocked_recipes, mark_recipe


def _loop(best: float, direction: str = "max", noise: float = 0.01, metric: str = "val_acc") -> SimpleNamespace:
    return SimpleNamespace(rstate=ResearchState(best_value=best, noise=noise, baseline_values=[0.5, 0.52]),
                           direction=direction, metric=metric)


def test_a_recipe_comes_back_once_the_best_has_clearly_moved_on_and_only_once():
    loop = _loop(0.60)
    mark_recipe(loop, "cosine_warmup")
    assert blocked_recipes(loop) == ["cosine_warmup"]  # same best: it would not pay off now either
    loop.rstate.best_value = 0.605  # inside the noise margin (2 x 0.01)
    assert blocked_recipes(loop) == ["cosine_warmup"]
    loop.rstate.best_value = 0.70
    assert blocked_recipes(loop) == []  # a new context: worth one more try
    mark_recipe(loop, "cosine_warmup")
    loop.rstate.best_value = 0.90
    assert blocked_recipes(loop) == ["cosine_warmup"]  # tried twice: done


def test_for_a_loss_lower_is_the_moved_on_direction():
    loop = _loop(0.5, direction="min", metric="val_rmse")
    mark_recipe(loop, "label_smoothing")
    loop.rstate.best_value = 0.55
    assert blocked_recipes(loop) == ["label_smoothing"]
    loop.rstate.best_value = 0.3
    assert blocked_recipes(loop) == []


def test_a_recipe_the_person_rejected_never_comes_back():
    loop = _loop(0.6)
    loop.rstate.tried_recipes.append("ema")  # what a rejection records: no measured try
    loop.rstate.best_value = 0.99
    assert blocked_recipes(loop) == ["ema"]


def test_label_smoothing_is_never_judged_by_a_loss_it_changes():
    """A smoothed criterion scores the same predictions higher: judged by val_loss, label
    smoothing would be compared on a different quantity, so it is not proposed at all."""
    smoothing = ["keras_label_smoothing", "label_smoothing", "trainer_label_smoothing"]
    assert blocked_recipes(_loop(0.5, direction="min", metric="val_loss")) == smoothing
    assert blocked_recipes(_loop(0.5, direction="min", metric="eval_loss")) == smoothing
    assert blocked_recipes(_loop(0.5, direction="min", metric="cost")) == smoothing
    assert blocked_recipes(_loop(0.5, direction="max", metric="val_acc")) == []
    assert blocked_recipes(_loop(0.5, direction="min", metric="val_rmse")) == []
