"""`--metric-window N`: a trial scored by the mean of its last N reports (noisy per-episode metrics)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from aft_tui.errors import UserError
from aft_tui.runs.objective import final_value
from aft_tui.settings import Settings
from tests.conftest import git
from tests.engine.helpers import aft, results


def test_the_last_value_without_a_window_and_the_mean_of_the_last_n_with_one():
    assert final_value([1.0, 2.0, 9.0]) == 9.0
    assert final_value([1.0, 2.0, 9.0], 1) == 9.0
    assert final_value([1.0, 2.0, 3.0, 9.0], 2) == pytest.approx(6.0)
    assert final_value([4.0, 8.0], 10) == pytest.approx(6.0)  # fewer reports than the window
    assert final_value([], 3) is None


def test_a_run_that_diverged_inside_the_window_stays_diverged():
    assert math.isnan(final_value([1.0, float("nan"), 2.0], 3))
    assert final_value([float("nan"), 1.0, 3.0], 2) == pytest.approx(2.0)  # the NaN is outside the window


@pytest.mark.parametrize("bad", [0, -2, 2.5, True, "3"])
def test_a_window_must_be_a_positive_whole_number(bad):
    with pytest.raises(UserError, match="metric_window"):
        Settings().update({"metric_window": bad}, "aft.toml")


EPISODES = '''\
import argparse

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, default=0.01)
args = parser.parse_args()
# Returns per episode: the last one is an outlier; the mean of the last three is 20.
for step, ret in enumerate([5.0, 10.0, 30.0, 20.0, 10.0]):
    print(f"global_step={step * 100}, episodic_return=[{ret}]")
'''


def test_tune_scores_each_trial_by_the_mean_of_the_window(git_project, tmp_path: Path):
    project = git_project(commit=False)
    (project / "rl.py").write_text(EPISODES)
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "initial")
    proc = aft(project, "tune", "rl.py", "--trials", "1", "--metric", "episodic_return", "--direction", "max",
               "--metric-window", "3", "--yes")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (run,) = results(project)
    assert run["value"] == pytest.approx(20.0)
    assert run["best"] == pytest.approx(30.0)  # the best single report is still recorded as such
