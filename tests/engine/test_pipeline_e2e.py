"""`aft pipeline --yes` on differently written real scripts: refactor shown, proven, committed, tuned.

For each, the refactored script run with no flags must give the same metric as the original
(same seed): the refactor changes only the surface.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import git
from tests.engine.helpers import aft, aft_env, results, session_ids, tree_fingerprint

pytestmark = pytest.mark.slow

CASES = [
    # (files to copy, script, final metric line regex)
    (["target.py"], "target.py", r"validation: ([0-9.]+)"),
    (["cnn_kwargs.py"], "cnn_kwargs.py", r"val_acc: ([0-9.]+)"),
    (["yaml_regressor.py", "yaml_regressor.yaml"], "yaml_regressor.py", r"val_mse: ([0-9.]+)"),
]


def _final_metric(cwd: Path, script: str, pattern: str) -> float:
    out = subprocess.run([sys.executable, script], cwd=cwd, capture_output=True, text=True, env=aft_env(), timeout=300)
    assert out.returncode == 0, out.stderr
    return float(re.findall(pattern, out.stdout)[-1])


@pytest.mark.parametrize("files,script,pattern", CASES, ids=[c[1] for c in CASES])
def test_pipeline(git_project, tmp_path: Path, files: list[str], script: str, pattern: str):
    project = git_project(*files)
    before = tree_fingerprint(project)
    proc = aft(project, "pipeline", script, "--trials", "3", "--yes", timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert tree_fingerprint(project) == before

    (sid,) = session_ids(project)
    branch = f"aft/{sid}"
    subjects = git(project, "log", "--format=%s", f"main..{branch}").splitlines()
    refactors = [s for s in subjects if s.startswith("refactor:")]
    assert len(refactors) == 1, subjects
    assert len([s for s in subjects if s.startswith("trial ")]) == 3

    runs = results(project)
    assert len(runs) == 3
    ok = [r for r in runs if r["status"] == "ok"]
    assert ok, [(r["status"], r["reason"]) for r in runs]
    direction = runs[0]["direction"]
    best = (max if direction == "max" else min)(r["value"] for r in ok)
    defaults = runs[0]["value"]
    assert (best >= defaults) if direction == "max" else (best <= defaults)
    # Every run has a curve to read: target.py prints its objective once, at the end, and its
    # per-epoch held-out metrics on another line, which the analysis reads instead.
    assert not [f for r in ok for f in r["findings"] if f["code"] == "too_short"], [r["findings"] for r in ok]

    # The refactor was shown as a diff in the session, then approved.
    session_log = (project / ".aft" / "sessions" / f"{sid}.jsonl").read_text()
    assert '"proposal_kind": "refactor"' in session_log and '"approved": true' in session_log

    # Behaviour preservation by running both: same metric with no flags, same seed.
    refactor_sha = git(project, "log", "--format=%H", "--grep=^refactor:", branch).splitlines()[0]
    refactored_dir = tmp_path / "refactored"
    refactored_dir.mkdir()
    for name in files:
        (refactored_dir / name).write_text(git(project, "show", f"{refactor_sha}:{name}") + "\n")
    original = _final_metric(project, script, pattern)
    refactored = _final_metric(refactored_dir, script, pattern)
    assert refactored == original


def test_pipeline_passes_script_flags_to_a_tyro_script(git_project):
    """A tyro script with a literal in its optimizer call: AFT's own parser takes only its flags
    off the command line, so the script's flags after `--` reach tyro in the smoke run and
    every trial."""
    pytest.importorskip("tyro")
    pytest.importorskip("torch")
    fixture = Path(__file__).parents[1] / "target" / "fixtures" / "tyro_train.py"
    project = git_project(fixture)
    proc = aft(project, "pipeline", "tyro_train.py", "--trials", "2", "--yes", "--", "--run-name", "smoke", timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "unrecognized" not in (proc.stdout + proc.stderr).lower()
    runs = results(project)
    assert len(runs) == 2
    assert all(r["status"] == "ok" for r in runs), [(r["status"], r["reason"]) for r in runs]
