"""The noise research measures is the spread across seeds: a seeded script run again with its own seed
repeats itself exactly, which would read as zero noise and let any lucky change through."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.engine.helpers import aft, script_project
from tests.engine.research.fixture_script import SCRIPT

pytest.importorskip("torch")
pytestmark = pytest.mark.slow


def _session(project: Path, experiments: int) -> tuple[list[dict], list[dict], dict]:
    done = aft(project, "research", "train.py", "--experiments", str(experiments), "--yes", "--seed", "3",
               "--metric", "val_loss", "--direction", "min", timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (folder,) = sorted((project / "outputs" / "research").iterdir())
    runs = sorted(json.loads((project / "outputs" / "results.json").read_text()), key=lambda r: r["number"])
    state = json.loads((folder / "state.json").read_text())
    return json.loads((folder / "experiments.json").read_text()), runs, state


def test_the_baseline_runs_again_with_other_seeds(tmp_path: Path):
    experiments, runs, state = _session(script_project(tmp_path, SCRIPT), 4)
    assert [e["kind"] for e in experiments[:3]] == ["baseline"] * 3
    # The script's own seed first (0), then 1 and 2, passed by its own flag and recorded with the run.
    seeds = [r["command"][r["command"].index("--seed") + 1] if "--seed" in r["command"] else None for r in runs[:3]]
    assert seeds in (["0", "1", "2"], [None, "1", "2"]), [r["command"] for r in runs[:3]]
    assert "seed 1" in experiments[1]["description"] and "seed 2" in experiments[2]["description"]
    values = [e["value"] for e in experiments[:3]]
    assert len(set(values)) == 3  # other initial weights, other results
    assert state["noise"] > 0 and state["baseline_values"] == values
    # Only measurements take another seed: experiment 4 runs with the script's own again.
    assert "--seed" not in runs[3]["command"] or runs[3]["command"][runs[3]["command"].index("--seed") + 1] == "0"


def test_a_script_without_a_seed_flag_is_run_again_as_it_is(tmp_path: Path):
    unseeded = SCRIPT.replace('parser.add_argument("--seed", type=int, default=0)\n', "").replace(
        "torch.manual_seed(args.seed)", "torch.manual_seed(0)")
    experiments, runs, state = _session(script_project(tmp_path, unseeded), 3)
    # Deterministic and nothing to vary: two identical runs say so, and its noise is zero.
    assert [e["kind"] for e in experiments[:2]] == ["baseline"] * 2 and experiments[2]["kind"] != "baseline"
    assert experiments[0]["value"] == experiments[1]["value"] and state["noise"] == 0
    assert "seed" not in experiments[1]["description"]
    assert not any("--seed" in r["command"] for r in runs)
