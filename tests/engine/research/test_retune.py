"""A code change that loses at the old learning rate runs again at another one before it is
discarded (engine/research/change_params.py)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from aft_tui.engine.research.records import Experiment
from aft_tui.engine.research.change_params import MAX_RETUNES, Retune, learning_rate, scaled, switched_on
from aft_tui.tuning.space import Dimension, SearchSpace
from tests.engine.helpers import aft, script_project

# The loss is a bowl in the learning rate whose bottom depends on the optimizer: Adam is best at
# 0.01 (0.5), AdamW reaches 0.4 but at another rate. At the old rate AdamW loses.
SCRIPT = """\
import argparse

import torch

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, default=0.01)
parser.add_argument("--weight-decay", type=float, default=0.0)
args = parser.parse_args()
model = torch.nn.Linear(2, 1)
optimizer = torch.optim.Adam(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
decoupled = type(optimizer).__name__ == "AdamW"
best_lr, floor = ({adamw_lr}, 0.4) if decoupled else (0.01, 0.5)
for epoch in range(2):
    print(f"epoch {{epoch}} val_loss: {{floor + 5000 * (args.lr - best_lr) ** 2:.6f}}")
"""


def _space(*dims: Dimension) -> SearchSpace:
    return SearchSpace(list(dims))


LR = Dimension("lr", "float", 0.01, flag="--lr", low=1e-4, high=0.05, log=True)


def test_the_learning_rate_moves_by_the_factor_inside_its_range():
    params, words = scaled(_space(LR), {"lr": 0.01, "epochs": 3}, 2.0)
    assert params == {"lr": 0.02, "epochs": 3} and words == "learning rate ×2 (lr=0.02)"
    assert scaled(_space(LR), {"lr": 0.04}, 2.0)[0]["lr"] == 0.05  # clipped to the range
    assert scaled(_space(LR), {"lr": 0.05}, 2.0) is None  # no room left: nothing to run
    assert scaled(_space(Dimension("epochs", "int", 3, low=1, high=9)), {"epochs": 3}, 2.0) is None
    two = _space(LR, Dimension("head_lr", "float", 0.1, low=0.01, high=1.0))
    assert learning_rate(two) is None  # which one would it be? none is guessed


def test_a_parameter_the_change_needs_is_moved_off_zero_only_where_it_is_zero():
    decay = Dimension("weight_decay", "float", 0.0, flag="--weight-decay", low=0.0, high=1.0)
    space = _space(LR, decay)
    params, raised = switched_on(space, {"lr": 0.01, "weight_decay": 0.0}, {"weight_decay": 0.01})
    assert params == {"lr": 0.01, "weight_decay": 0.01} and raised == {"weight_decay": 0.01}
    params, raised = switched_on(space, {"lr": 0.01, "weight_decay": 0.05}, {"weight_decay": 0.01})
    assert params["weight_decay"] == 0.05 and not raised  # the script's own decay is kept
    narrow = _space(LR, Dimension("weight_decay", "float", 0.0, low=0.0, high=0.001))
    assert switched_on(narrow, {"weight_decay": 0.0}, {"weight_decay": 0.01})[1] == {}  # outside its range
    assert switched_on(space, {"weight_decay": 0.0}, {})[1] == {}


def test_twice_then_four_times_when_twice_helped_else_half_and_no_more():
    first = Experiment(number=4, kind="code", source="catalogue", description="AdamW", value=0.9)
    retune = Retune(first)
    assert retune.next_factor("min") == 2.0
    retune.tried.append((2.0, 0.7))  # better than the first run
    assert retune.next_factor("min") == 4.0
    other = Retune(first, tried=[(2.0, 1.2)])  # worse: the other way
    assert other.next_factor("min") == 0.5
    assert len(other.tried) < MAX_RETUNES
    other.tried.append((0.5, 0.95))
    assert other.next_factor("min") is None


def test_a_rate_the_range_clips_to_one_already_run_is_not_run_again():
    """At the top of the range ×4 is ×2 again: a second run of the same configuration would only
    spend the budget."""
    space = _space(Dimension("lr", "float", 0.001, low=1e-4, high=0.01, log=True))
    first = Experiment(number=4, kind="code", source="catalogue", description="AdamW", value=0.9,
                       params={"lr": 0.004})
    retune = Retune(first)
    factor, params, words = retune.next_run(space, "min")
    assert (factor, params) == (2.0, {"lr": 0.008}) and "×2" in words
    retune.tried.append((2.0, 0.7))                    # ×2 helped: ×4 would be 0.016, clipped to 0.01
    assert retune.next_run(space, "min") == (4.0, {"lr": 0.01}, "learning rate ×4 (lr=0.01)")
    capped = Retune(Experiment(number=5, kind="code", source="catalogue", description="AdamW", value=0.9,
                               params={"lr": 0.006}), tried=[(2.0, 0.7)])   # ×2 was already clipped to 0.01
    assert capped.next_run(space, "min") is None


def _experiments(project: Path) -> list[dict]:
    folder = next((project / "outputs" / "research").iterdir())
    return json.loads((folder / "experiments.json").read_text())


def _head_script(project: Path) -> str:
    branch = subprocess.run(["git", "branch", "--list", "aft/*", "--format=%(refname:short)"], cwd=project,
                            capture_output=True, text=True).stdout.split()[0]
    return subprocess.run(["git", "show", f"{branch}:train.py"], cwd=project, capture_output=True, text=True).stdout


def test_a_change_that_loses_at_the_old_rate_is_kept_at_twice_the_rate(tmp_path: Path):
    pytest.importorskip("torch")
    project = script_project(tmp_path, SCRIPT.format(adamw_lr=0.02))
    done = aft(project, "research", "train.py", "--experiments", "5", "--yes", "--seed", "1",
               "--metric", "val_loss", "--direction", "min", timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    runs = [e for e in _experiments(project) if e["recipe"] == "adamw"]
    assert [r["status"] for r in runs] == ["discard", "keep"], runs
    first, again = runs
    assert first["params"]["lr"] == pytest.approx(0.01) and again["params"]["lr"] == pytest.approx(0.02)
    # The script's weight decay is 0, with which AdamW would be Adam: the change runs with 0.01.
    assert first["params"]["weight_decay"] == again["params"]["weight_decay"] == pytest.approx(0.01)
    assert "learning rate ×2 (lr=0.02)" in again["description"]
    assert "runs again with the learning rate ×2" in first["reason"]
    assert first["code_commit"] == again["code_commit"] and not first["revert_commit"]
    assert again["value"] == pytest.approx(0.4)
    assert "optim.AdamW(" in _head_script(project)  # the change stays on the branch
    # The bandit counts both runs: one not kept (the old rate), one kept.
    state = json.loads((next((project / "outputs" / "research").iterdir()) / "state.json").read_text())
    assert state["bandit"]["arms"]["catalogue"]["recent"][-2:] == [0, 1], state["bandit"]


def test_a_change_still_being_retuned_when_the_session_ends_is_taken_back(tmp_path: Path):
    pytest.importorskip("torch")
    project = script_project(tmp_path, SCRIPT.format(adamw_lr=0.005))  # AdamW wants half the rate
    done = aft(project, "research", "train.py", "--experiments", "5", "--yes", "--seed", "1",
               "--metric", "val_loss", "--direction", "min", timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    runs = [e for e in _experiments(project) if e["recipe"] == "adamw"]
    assert [r["status"] for r in runs] == ["discard", "discard"], runs  # ×1, then ×2 (worse); ×0.5 never ran
    assert runs[0]["revert_commit"] and runs[0]["revert_commit"] == runs[1]["revert_commit"]
    assert "optim.Adam(" in _head_script(project)  # nothing not kept is left applied
