"""Every knob a recipe introduces is found by AFT's discovery as a tunable parameter with a
sensible range, and the refactor can lift it to a flag: the recipes feed the normal tuner."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from aft_tui.target.discover import discover
from aft_tui.target.recipes.catalogue import catalogue
from aft_tui.target.refactor import plan_refactor
from tests.target.recipes.scripts import PLAIN, TRAINER

RECIPES = {r.id: r for r in catalogue()}
# recipe id -> the script it applies to and the knobs it must introduce, with their defaults.
EXPECTED = {
    "adamw": (PLAIN, {"WEIGHT_DECAY": 0.01}),
    "cosine_warmup": (PLAIN, {"WARMUP_FRACTION": 0.05, "MIN_LR_RATIO": 0.0}),
    "grad_clip": (PLAIN, {"MAX_GRAD_NORM": 1.0}),
    "label_smoothing": (PLAIN, {"LABEL_SMOOTHING": 0.1}),
    "ema": (PLAIN, {"EMA_DECAY": 0.99}),
    "trainer_cosine": (TRAINER, {"WARMUP_RATIO": 0.05}),
    "trainer_adamw": (TRAINER, {"WEIGHT_DECAY": 0.01}),
    "trainer_label_smoothing": (TRAINER, {"LABEL_SMOOTHING": 0.1}),
    "trainer_grad_clip": (TRAINER, {"MAX_GRAD_NORM": 1.0}),
}


@pytest.mark.parametrize("recipe", sorted(EXPECTED))
def test_each_knob_is_discovered_with_a_range_and_lifted_to_a_flag(recipe: str, tmp_path: Path) -> None:
    source, knobs = EXPECTED[recipe]
    edit = RECIPES[recipe].apply(source)
    assert edit is not None and edit.knobs == knobs
    script = tmp_path / "train.py"
    script.write_text(edit.new_source)
    discovery = discover(script)
    names = []
    for constant, default in knobs.items():
        assert f"\n{constant} = {default!r}\n" in edit.new_source
        param = discovery.param(constant.lower())
        assert param is not None and param.source == "constant", f"{constant} not discovered"
        assert param.extra["tunable"] and param.default == default
        assert param.low is not None and param.high is not None
        assert param.low <= default <= param.high and param.low < param.high
        names.append(param.name)
    plan = plan_refactor(script, discovery, chosen=names, project_root=tmp_path)
    assert sorted(p.name for p in plan.lifted) == sorted(names)
    compile(plan.new_source, "train.py", "exec")
    for name in names:
        assert f"--{name.replace('_', '-')}" in plan.new_source


def test_knob_ranges_fit_what_the_knob_means(tmp_path: Path) -> None:
    """A clipping norm a decade or so either side of 1; an EMA decay close below 1 (was 1e-6..1:
    "decay" read as weight decay); smoothing and warmup small fractions."""
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent("""\
        MAX_GRAD_NORM = 1.0
        EMA_DECAY = 0.999
        LABEL_SMOOTHING = 0.1
        WARMUP_FRACTION = 0.05
        WEIGHT_DECAY = 0.01
        print(MAX_GRAD_NORM, EMA_DECAY, LABEL_SMOOTHING, WARMUP_FRACTION, WEIGHT_DECAY)
    """))
    params = {p.name: p for p in discover(script).params}
    clip = params["max_grad_norm"]  # was not discovered at all: no hyperparameter word in its name
    assert (clip.low, clip.high, clip.log) == (0.1, 10.0, True)
    ema = params["ema_decay"]
    assert 0.8 <= ema.low < 0.999 < ema.high < 1.0
    assert params["label_smoothing"].high <= 0.2 and params["warmup_fraction"].high <= 0.2
    assert params["weight_decay"].log and params["weight_decay"].low < 0.01 < params["weight_decay"].high


def test_speed_only_recipes_introduce_no_knob(tmp_path: Path) -> None:
    """amp, compile and eval_batch change how fast a run goes, not what it learns: nothing for
    the tuner, and the evaluation batch constant is not offered as a parameter."""
    for recipe in ("amp", "compile", "eval_batch"):
        edit = RECIPES[recipe].apply(PLAIN)
        assert edit is not None and edit.knobs == {}
        script = tmp_path / f"{recipe}.py"
        script.write_text(edit.new_source)
        before = {p.name for p in discover(_write(tmp_path, PLAIN)).tunable()}
        assert {p.name for p in discover(script).tunable()} == before


def _write(folder: Path, source: str) -> Path:
    path = folder / "original.py"
    path.write_text(source)
    return path
