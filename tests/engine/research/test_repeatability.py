"""Two baseline runs count as repeating each other (noise zero, no third run) only when their
curves match, not merely their final scores: a coarse accuracy can land on the same step twice."""

from __future__ import annotations

import json
from pathlib import Path

from aft_tui.engine.research.repeatability import repeated, signature
from tests.engine.helpers import aft, script_project

# Every run ends at the same accuracy (a coarse score), but its losses differ from run to run.
COARSE = '''\
import argparse
import random

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, default=0.1)
args = parser.parse_args()
for epoch in range(3):
    print(f"epoch {epoch} val_loss: {1.0 / (epoch + 1) + random.random() / 100:.5f} val_acc: 0.9667")
'''


def _rows(loss: float) -> list[dict]:
    return [{"epoch": 1.0, "val_loss": loss, "val_acc": 0.9667, "eval_runtime": 0.02},
            {"epoch": 2.0, "val_loss": loss / 2, "val_acc": 0.9667, "eval_runtime": 0.03}]


def test_runs_repeat_each_other_only_when_the_objective_and_every_loss_match():
    a, b = signature(_rows(1.0954), "val_acc"), signature(_rows(1.0953), "val_acc")
    assert not repeated([0.9667, 0.9667], [a, b])          # the same score, other losses
    same = signature(_rows(1.0954), "val_acc")
    assert repeated([0.9667, 0.9667], [a, same])
    timed = [{**row, "eval_runtime": 9.9} for row in _rows(1.0954)]
    assert repeated([0.9667, 0.9667], [a, signature(timed, "val_acc")])   # timings always differ: not compared
    assert not repeated([0.9667, 0.9668], [a, same])        # other scores never repeat
    assert not repeated([0.9667, 0.9667], [a])               # a run not signed (an older session): not proven


def test_a_coarse_score_that_repeats_by_chance_gets_its_third_baseline_run(tmp_path: Path):
    project = script_project(tmp_path, COARSE)
    done = aft(project, "research", "train.py", "--experiments", "4", "--yes", "--metric", "val_acc",
               "--direction", "max", timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (folder,) = sorted((project / "outputs" / "research").iterdir())
    experiments = json.loads((folder / "experiments.json").read_text())
    state = json.loads((folder / "state.json").read_text())
    assert [e["kind"] for e in experiments[:3]] == ["baseline"] * 3
    assert [e["value"] for e in experiments[:3]] == [0.9667] * 3
    assert len(set(state["baseline_signatures"])) == 3      # three runs, three curves
    assert state["noise"] == 0 and state["baseline_values"] == [0.9667] * 3
