"""The edited scripts still train: each recipe's edit of a small PyTorch script, and all of
them applied one after another, run with the real torch and print their metric."""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from aft_tui.target.discover import discover
from aft_tui.target.recipes.catalogue import applicable, catalogue
from aft_tui.target.refactor import plan_refactor
from tests.target.recipes.scripts import PLAIN

# One interpreter runs every script in turn, each as `python script.py [args]` would (fresh
# globals, its own argv, __main__), so torch is imported once for all of them.
DRIVER = '''
import contextlib, io, runpy, sys, traceback
for entry in sys.argv[1:]:
    path, *args = entry.split("::")
    out = io.StringIO()
    sys.argv = [path, *args]
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        try:
            runpy.run_path(path, run_name="__main__")
        except BaseException:
            traceback.print_exc()
    with open(path + ".out", "w") as handle:
        handle.write(out.getvalue())
'''
LINE = re.compile(r"^epoch (\d+) val_loss (\S+) val_acc (\S+)$", re.MULTILINE)
RECIPES = [r.id for r in catalogue() if not r.id.startswith(("trainer_", "keras_"))]  # those two kinds: their own files
FLAGS = ["--label-smoothing", "0.05", "--ema-decay", "0.9", "--max-grad-norm", "0.5", "--warmup-fraction", "0.2"]


def _in_sequence(source: str) -> tuple[str, list[str]]:
    """Recipes applied one after another, each to the script the previous one left, as a
    research session keeps them."""
    done: list[str] = []
    while True:
        edits = applicable(source, gpu=True, tried=done)
        if not edits:
            return source, done
        source = edits[0].new_source
        done.append(edits[0].recipe)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("recipes")
    entries: dict[str, str] = {}

    def add(name: str, source: str, *args: str) -> None:
        path = folder / f"{name}.py"
        path.write_text(source)
        entries[name] = "::".join([str(path), *args])

    add("original", PLAIN)
    by_id = {r.id: r for r in catalogue()}
    for recipe in RECIPES:
        edit = by_id[recipe].apply(PLAIN)
        assert edit is not None, f"{recipe} does not apply to the plain script"
        add(recipe, edit.new_source)
    combined, _ = _in_sequence(PLAIN)
    add("combined", combined)
    lifted = folder / "lifted.py"
    lifted.write_text(combined)
    discovery = discover(lifted)
    names = ["label_smoothing", "ema_decay", "max_grad_norm", "warmup_fraction"]
    add("lifted", plan_refactor(lifted, discovery, chosen=names, project_root=folder).new_source, *FLAGS)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    subprocess.run([sys.executable, "-c", DRIVER, *entries.values()], env=env, timeout=240, check=True, cwd=folder)
    return {name: Path(entry.split("::")[0] + ".out").read_text() for name, entry in entries.items()}


def _metrics(output: str) -> list[tuple[int, float, float]]:
    return [(int(e), float(loss), float(acc)) for e, loss, acc in LINE.findall(output)]


@pytest.mark.parametrize("name", ["original", *RECIPES, "combined", "lifted"])
def test_edited_script_trains_and_reports(runs: dict[str, str], name: str) -> None:
    metrics = _metrics(runs[name])
    assert [m[0] for m in metrics] == [0, 1], runs[name]
    for _, loss, acc in metrics:
        assert math.isfinite(loss) and 0.0 <= acc <= 1.0
    if name not in ("ema", "combined", "lifted"):  # an average over 32 steps lags the raw weights
        assert metrics[-1][2] > 0.75, runs[name]


def test_speed_recipes_leave_the_numbers_alone_on_a_cpu(runs: dict[str, str]) -> None:
    """Without CUDA, autocast and compile switch themselves off, and a bigger evaluation batch
    gives the same averages: the same metrics to the last digit."""
    for name in ("amp", "compile", "eval_batch"):
        assert runs[name] == runs["original"]


def test_recipes_in_sequence_each_apply_once() -> None:
    """All but compile stack on one script: compiling a model whose copy is averaged is declined."""
    combined, done = _in_sequence(PLAIN)
    assert done == ["cosine_warmup", "adamw", "amp", "label_smoothing", "grad_clip", "ema", "eval_batch"]
    assert applicable(combined, gpu=True) == []
    for constant in ("WARMUP_FRACTION", "MIN_LR_RATIO", "WEIGHT_DECAY", "LABEL_SMOOTHING", "MAX_GRAD_NORM", "EMA_DECAY"):
        assert combined.count(f"\n{constant} = ") == 1
