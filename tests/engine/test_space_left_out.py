"""A tuned parameter that cannot be searched is named once, with the reason, when tuning starts."""

from __future__ import annotations

import json

import pytest

from tests.engine.helpers import aft, results

pytestmark = pytest.mark.slow

SCRIPT = '''import argparse

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, default=0.1)
parser.add_argument("--dropout", type=float, default=None)
args = parser.parse_args()
print(f"loss: {abs(args.lr - 0.05):.4f}")
'''


def test_tune_names_the_parameter_it_leaves_out(git_project, tmp_path):
    source = tmp_path / "train.py"
    source.write_text(SCRIPT)
    project = git_project(source)
    proc = aft(project, "tune", "train.py", "--trials", "2", "--yes", "--metric", "loss", "--direction", "min")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = " ".join(proc.stdout.split())
    assert out.count("Left out of the search space:") == 1
    assert "Left out of the search space: dropout (no default to start from; set a range in [search.dropout])." in out
    assert all(set(r["params"]) == {"lr"} for r in results(project))
    session = json.loads(next((project / ".aft" / "sessions").glob("*.json")).read_text())
    assert set(session["space"]["left_out"]) == {"dropout"}
