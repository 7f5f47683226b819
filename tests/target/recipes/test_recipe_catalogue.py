"""The catalogue as the research loop uses it: which recipes are offered for a script, that
each edit compiles and applies once, and that a script already doing it is left alone."""

from __future__ import annotations

import pytest

from aft_tui.target.recipes.catalogue import applicable, catalogue
from tests.target.recipes.scripts import KERAS, MODERN, PLAIN, TRAINER

IDS = [r.id for r in catalogue()]


@pytest.mark.parametrize("source", [PLAIN, TRAINER, KERAS], ids=["plain", "trainer", "keras"])
@pytest.mark.parametrize("recipe", IDS)
def test_every_edit_compiles_and_applies_once(recipe: str, source: str) -> None:
    by_id = {r.id: r for r in catalogue()}
    edit = by_id[recipe].apply(source)
    if edit is None:
        return  # not this script's pattern: the other fixture covers it (checked below)
    compile(edit.new_source, "train.py", "exec")
    assert edit.recipe == recipe and edit.title and edit.rationale
    assert by_id[recipe].apply(edit.new_source) is None


def test_each_recipe_applies_to_one_of_the_fixtures() -> None:
    plain = {e.recipe for e in applicable(PLAIN, gpu=True)}
    trainer = {e.recipe for e in applicable(TRAINER, gpu=True)}
    assert plain == {"cosine_warmup", "adamw", "amp", "label_smoothing", "grad_clip", "ema", "compile", "eval_batch"}
    assert trainer == {"trainer_cosine", "trainer_adamw", "trainer_label_smoothing", "trainer_grad_clip"}
    keras = {e.recipe for e in applicable(KERAS, gpu=True)}
    assert keras == {"keras_cosine_warmup", "keras_adamw", "keras_label_smoothing", "keras_grad_clip"}
    assert plain | trainer | keras == set(IDS)


def test_gpu_only_recipes_and_tried_ones_are_not_offered() -> None:
    offered = [e.recipe for e in applicable(PLAIN, gpu=False)]
    assert offered == ["cosine_warmup", "adamw", "label_smoothing", "grad_clip", "ema", "eval_batch"]
    assert all(not e.needs_gpu for e in applicable(PLAIN, gpu=False))
    offered = [e.recipe for e in applicable(PLAIN, gpu=True, tried=["adamw", "ema", "amp"])]
    assert offered == ["cosine_warmup", "label_smoothing", "grad_clip", "compile", "eval_batch"]


def test_a_script_that_already_has_the_recipes_gets_none() -> None:
    assert applicable(MODERN, gpu=True) == []


@pytest.mark.parametrize(
    ("recipe", "replacements"),
    [
        ("adamw", [("torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.05)", "torch.optim.Adam(model.parameters(), lr=1e-3)")]),
        ("grad_clip", [("        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)\n", "")]),
        ("label_smoothing", [(", label_smoothing=0.1)", ")")]),
        ("cosine_warmup", [
            ("scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=1e-2, total_steps=EPOCHS * len(train_loader))\n", ""),
            ("        scheduler.step()\n", ""),
        ]),
        ("amp", [
            ('        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=torch.cuda.is_available()):\n', ""),
            ("            loss = F.cross_entropy(", "        loss = F.cross_entropy("),
        ]),
    ],
)
def test_it_is_the_existing_feature_that_stops_each_recipe(recipe: str, replacements: list[tuple[str, str]]) -> None:
    """Take the feature out of the modern script and its recipe applies again."""
    source = MODERN
    for old, new in replacements:
        assert old in source
        source = source.replace(old, new)
    assert recipe in [e.recipe for e in applicable(source, gpu=True)]


def test_unreadable_source_gets_no_recipe() -> None:
    assert applicable("def broken(:\n", gpu=True) == []
    assert applicable("", gpu=True) == []
