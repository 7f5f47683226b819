"""Pruning from live metrics: a pruned trial is recorded as pruned, with its step and a reason
that names the rule and the comparison. Bad trials of the test script are worse from epoch 1.

Each session runs as `aft tune` in its own process, as a person runs it. (In the pytest process,
after a part of the rest of the suite, the same sessions ran without pruning anything; the cause
was not found, and a fresh process is what this test is about.)"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import git
from tests.engine.helpers import aft, aft_env, results, session_ids

pytestmark = pytest.mark.slow


def _tune(project: Path, trials: int, seed: int, pruner: str, epochs: int, sleep: str) -> tuple[list[dict], list[dict]]:
    (project / "aft.toml").write_text(f"[search.epochs]\nfixed = {epochs}\n")
    git(project, "add", "aft.toml")
    git(project, "commit", "-q", "-m", "fix the epochs")
    done = aft(project, "tune", "train.py", "--trials", str(trials), "--strategy", "random", "--seed", str(seed),
               "--pruner", pruner, "--metric", "val_acc", "--direction", "max", "--yes",
               env=aft_env(AFT_TEST_SLEEP=sleep), timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (sid,) = session_ids(project)
    log = project / ".aft" / "sessions" / f"{sid}.jsonl"
    events = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    return sorted(results(project), key=lambda r: r["number"]), events


def _check_pruned(records, events, pattern: str) -> list[dict]:
    pruned = [r for r in records if r["status"] == "pruned"]
    assert pruned, [(r["number"], r["status"], r["value"]) for r in records]
    for r in pruned:
        assert isinstance(r["pruned_at"], int) and r["pruned_at"] >= 1
        assert re.search(pattern, r["reason"]), r["reason"]
        assert f"at step {r['pruned_at']}" in r["reason"]
        # Stopped early: fewer epochs ran than the script would have run.
        assert len(r["history"]) < {**r["fixed"], **r["params"]}["epochs"]
    finished = {e["run_id"]: e for e in events if e["kind"] == "trial_finished"}
    for r in pruned:
        assert finished[r["run_id"]]["status"] == "pruned" and finished[r["run_id"]]["reason"] == r["reason"]
    return pruned


def test_median_rule_prunes_and_says_against_what(curve_project):
    records, events = _tune(curve_project, 8, seed=2, pruner="median", epochs=6, sleep="0.12")
    pruned = _check_pruned(records, events, r"^median rule: val_acc=[\d.]+ at step \d+ is below the median "
                                            r"[\d.]+ of the \d+ other trials at step \d+( by more than the noise \(±[\d.e-]+\))?$")
    numbers = re.findall(r"[\d.]+", pruned[0]["reason"])
    value, median = float(numbers[0]), float(numbers[2])
    assert value < median


def test_hyperband_rule_prunes_and_says_against_what(curve_project):
    records, events = _tune(curve_project, 10, seed=5, pruner="hyperband", epochs=9, sleep="0.1")
    _check_pruned(records, events, r"^successive-halving rule \(Hyperband, bracket \d of \d, rung \d\): "
                                   r"val_acc=[\d.]+ at step \d+ is not in the top 1/3 of the \d+ trials? of its "
                                   r"bracket that reached this rung \(the top \d+ needed at least [\d.]+\)$")
