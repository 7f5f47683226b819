"""The recipes in order of expected pay-off, and which of them fit a given script.

The order is what a research session tries first: the learning-rate schedule and the
optimizer matter most, mixed precision buys the most speed where there is a GPU, the
regularisers (label smoothing, clipping, weight averaging) come next, and pure speed-ups of
the rest last. The Trainer recipes only ever match Trainer scripts, so their place among the
plain PyTorch ones changes nothing.
"""

from __future__ import annotations

from typing import Iterable

from aft_tui.target.recipes.averaging import Ema
from aft_tui.target.recipes.base import Recipe, RecipeEdit
from aft_tui.target.recipes.clipping import GradClip
from aft_tui.target.recipes.eval_batch import EvalBatch
from aft_tui.target.recipes.gpu import Amp, Compile
from aft_tui.target.recipes.keras_recipes import keras_recipes
from aft_tui.target.recipes.optimizer import AdamW
from aft_tui.target.recipes.schedule import CosineWarmup
from aft_tui.target.recipes.smoothing import LabelSmoothing
from aft_tui.target.recipes.trainer_args import trainer_recipes

__all__ = ["Recipe", "RecipeEdit", "applicable", "catalogue"]


def catalogue() -> list[Recipe]:
    return [
        CosineWarmup(),
        AdamW(),
        Amp(),
        *trainer_recipes(),
        *keras_recipes(),
        LabelSmoothing(),
        GradClip(),
        Ema(),
        Compile(),
        EvalBatch(),
    ]


CHANGE_THE_LOSS = frozenset({"label_smoothing", "trainer_label_smoothing", "keras_label_smoothing"})
"""Recipes that change what the loss measures: a smoothed criterion scores the same predictions
higher (and the evaluation usually shares it), so judged by a loss objective they would compare
two different quantities. They are for accuracy-like objectives."""


def applicable(source: str, *, gpu: bool, tried: Iterable[str] = ()) -> list[RecipeEdit]:
    """Each recipe not yet tried that has an edit for `source`; GPU-only ones only on a GPU."""
    skip = set(tried)
    edits: list[RecipeEdit] = []
    for recipe in catalogue():
        if recipe.id in skip or (recipe.needs_gpu and not gpu):
            continue
        edit = recipe.apply(source)
        if edit is not None:
            edits.append(edit)
    return edits
