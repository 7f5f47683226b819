"""The headless tuning loop end to end: real subprocess trials, real git, real Optuna storage."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.conftest import git
from tests.engine.helpers import aft, results, script_project, session_ids, tree_fingerprint

pytestmark = pytest.mark.slow


def test_tune_eight_trials_beats_defaults_and_leaves_working_copy_untouched(git_project):
    project = git_project("mlp_classifier.py")
    before = tree_fingerprint(project)
    proc = aft(project, "tune", "mlp_classifier.py", "--trials", "8", "--metric", "val_acc", "--direction", "max", "--yes")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr

    # The user's working copy, index, HEAD and branch are byte-identical.
    assert tree_fingerprint(project) == before

    runs = results(project)
    assert len(runs) == 8
    assert all(r["status"] in ("ok", "pruned") for r in runs), [(r["number"], r["status"], r["reason"]) for r in runs]
    defaults = next(r for r in runs if r["number"] == 1)
    assert defaults["strategy"] == "defaults"
    best = max(r["value"] for r in runs if r["status"] == "ok")
    assert best >= defaults["value"]

    # Outputs layout.
    out = project / "outputs"
    for name in ("result.json", "results.json", "metadata.json", "model.pt"):
        assert (out / name).is_file(), name
    for r in runs:
        run_dir = out / r["run_id"]
        assert (run_dir / f"{r['run_id']}.log").is_file()
        assert (run_dir / "result.json").is_file()
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["best_value"] == best
    assert meta["search_space"]["dims"]
    assert meta["strategy"] == "tpe"
    assert meta["how_chosen"]
    latest = json.loads((out / "result.json").read_text())
    assert {"model_pt_path", "validation", "params"} <= set(latest)

    # One commit per trial on the session branch, each tagged, each with a note.
    (sid,) = session_ids(project)
    branch = f"aft/{sid}"
    log = git(project, "log", "--format=%s", f"main..{branch}").splitlines()
    trial_commits = [line for line in log if line.startswith("trial ")]
    assert len(trial_commits) == 8
    tags = git(project, "tag", "--list", f"aft/{sid}/*").splitlines()
    assert len(tags) == 8
    note = git(project, "notes", "--ref", "aft", "show", runs[0]["commit"])
    assert runs[0]["run_id"] in note
    # The params file in the tree reproduces the trial.
    params_file = json.loads(git(project, "show", f"{runs[-1]['commit']}:aft_params.json"))
    assert params_file["params"] == runs[-1]["params"]

    # The runs listing and compare work from the CLI.
    listing = aft(project, "runs")
    assert listing.returncode == 0 and "t001" in listing.stdout and "t008" in listing.stdout
    as_json = json.loads(aft(project, "runs", "--json").stdout)
    assert [r["run_id"] for r in as_json] == [r["run_id"] for r in runs]
    cmp_ = aft(project, "compare", "1", "2")
    assert cmp_.returncode == 0, cmp_.stderr


def test_metric_is_chosen_when_not_given(git_project):
    project = git_project("mlp_classifier.py")
    proc = aft(project, "tune", "mlp_classifier.py", "--trials", "2", "--yes")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No --metric given: optimising val_acc" in proc.stdout
    runs = results(project)
    assert [r["metric"] for r in runs] == ["val_acc", "val_acc"]
    assert all(r["direction"] == "max" for r in runs)


def test_rollback_makes_trial_state_head_with_new_commit(git_project):
    project = git_project("mlp_classifier.py")
    assert aft(project, "tune", "mlp_classifier.py", "--trials", "2", "--metric", "val_acc", "--yes").returncode == 0
    (sid,) = session_ids(project)
    head_before = git(project, "rev-parse", f"aft/{sid}")
    count_before = int(git(project, "rev-list", "--count", f"aft/{sid}"))
    proc = aft(project, "rollback", "1")
    assert proc.returncode == 0, proc.stderr
    first = results(project)[0]
    assert git(project, "rev-parse", f"aft/{sid}^{{tree}}") == git(project, "rev-parse", f"{first['commit']}^{{tree}}")
    assert int(git(project, "rev-list", "--count", f"aft/{sid}")) == count_before + 1
    assert git(project, "merge-base", "--is-ancestor", head_before, f"aft/{sid}") == ""


FINAL_ONLY = '''import argparse
import math

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, default=0.01)
args = parser.parse_args()
print(f"score: {1.0 - abs(math.log10(args.lr) + 2.0) / 10:.4f}")
'''


def test_a_finding_about_the_script_is_said_once_and_kept_on_every_record(tmp_path):
    """A metric printed once per run draws the same sentence after every trial; the person reads it once."""
    project = script_project(tmp_path, FINAL_ONLY)
    proc = aft(project, "tune", "train.py", "--trials", "3", "--metric", "score", "--direction", "max", "--yes")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    sentence = "Only 1 evaluation of score was recorded"
    assert proc.stdout.count(sentence) == 1, proc.stdout
    runs = results(project)
    assert len(runs) == 3
    assert all(any(f["sentence"].startswith(sentence) for f in r["findings"]) for r in runs)
