"""The refactor lifts each new kind of discovered value: it passes the static proof, the
refactored script run without flags prints exactly what the original printed, and a flag
really changes the run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from aft_tui.target.discover import discover
from aft_tui.target.equivalence import check_static
from aft_tui.target.refactor import plan_refactor

FIXTURES = Path(__file__).parent / "fixtures"

# (fixture, flags the refactor adds, a flag and value that must change the output)
CASES = [
    ("lowercase_block_train.py", ["--learning-rate", "--max-iters", "--batch-size", "--total-batch-size", "--min-lr", "--weight-decay"], ["--learning-rate", "0.01"]),
    ("main_locals_train.py", ["--m", "--n-hidden", "--dropout", "--weight-decay", "--lr", "--epochs"], ["--n-hidden", "4"]),
    ("dataclass_config_train.py", ["--lr", "--epochs", "--momentum"], ["--momentum", "0.9"]),
    ("dead_flag_train.py", ["--update-lr"], ["--update-lr", "0.05"]),
    ("booster_params_train.py", ["--num-leaves", "--learning-rate", "--feature-fraction", "--bagging-freq",
                                 "--num-boost-round", "--stopping-rounds", "--n-estimators", "--model-learning-rate"],
     ["--learning-rate", "0.3"]),
]


def run(script: Path, *args: str) -> str:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}
    env.pop("AFT_METRICS", None)
    proc = subprocess.run([sys.executable, script.name, *args], cwd=script.parent, env=env,
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


@pytest.mark.parametrize("name,flags,change", CASES, ids=[c[0] for c in CASES])
def test_lifted_values_run_as_before_and_flags_take_effect(tmp_path, name, flags, change):
    script = tmp_path / name
    shutil.copy(FIXTURES / name, script)
    plan = plan_refactor(script, discover(script), project_root=tmp_path)
    assert [p.flag for p in plan.lifted] == flags
    report = check_static(plan.original, plan.new_source, plan)
    assert report.ok, report.problems
    before = run(script)
    refactored = tmp_path / f"lifted_{name}"
    refactored.write_text(plan.new_source)
    assert run(refactored) == before
    assert run(refactored, *change) != before


def test_repeated_literal_is_lifted_at_every_site(tmp_path):
    script = tmp_path / "main_locals_train.py"
    shutil.copy(FIXTURES / "main_locals_train.py", script)
    plan = plan_refactor(script, discover(script), project_root=tmp_path)
    assert plan.new_source.count("p=_aft_args.dropout") == 2
    assert "p=0.25" not in plan.new_source
    assert "weight_decay=0)" in plan.new_source  # the group that switches decay off stays as written


def test_constant_expression_is_the_flag_default(tmp_path):
    script = tmp_path / "lowercase_block_train.py"
    shutil.copy(FIXTURES / "lowercase_block_train.py", script)
    plan = plan_refactor(script, discover(script), project_root=tmp_path)
    assert 'default=2**4' in plan.new_source and 'default=1e-3 / 4' in plan.new_source
    assert "total_batch_size = _aft_args.total_batch_size" in plan.new_source


def test_a_tampered_site_fails_the_proof(tmp_path):
    script = tmp_path / "main_locals_train.py"
    shutil.copy(FIXTURES / "main_locals_train.py", script)
    plan = plan_refactor(script, discover(script), project_root=tmp_path)
    tampered = plan.new_source.replace("p=_aft_args.dropout", "p=0.3", 1)
    assert not check_static(plan.original, tampered, plan).ok
