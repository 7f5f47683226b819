"""A real (tiny, CPU) Hugging Face Trainer run of a refactored script: the added TrainerCallback
reports every evaluation to AFT_METRICS and the run is otherwise unchanged."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from aft_tui.target.discover import discover
from aft_tui.target.refactor import plan_refactor

FIXTURES = Path(__file__).parent / "fixtures"
pytestmark = pytest.mark.slow


def run(script: Path, *args: str, metrics: Path | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "AFT_METRICS"}
    env.update(OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    if metrics is not None:
        env["AFT_METRICS"] = str(metrics)
    return subprocess.run([sys.executable, script.name, *args], cwd=script.parent, env=env,
                          capture_output=True, text=True, timeout=120)


def final_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, result.stderr[-2000:]
    return [line for line in result.stdout.splitlines() if line.startswith("eval_loss:")][-1]


def test_trainer_callback_reports_each_evaluation(tmp_path):
    pytest.importorskip("transformers")
    pytest.importorskip("accelerate")
    original = tmp_path / "original.py"
    shutil.copy(FIXTURES / "hf_tiny_trainer.py", original)
    target = tmp_path / "train.py"
    shutil.copy(FIXTURES / "hf_tiny_trainer.py", target)
    d = discover(target)
    assert d.framework == "hf_trainer" and "eval_loss" in d.metrics
    plan = plan_refactor(target, d, project_root=tmp_path)
    assert "callbacks=[_AftMetricsCallback()]" in plan.new_source
    target.write_text(plan.new_source)

    metrics = tmp_path / "metrics.jsonl"
    # With no flags the training is the same run: same final metric.
    assert final_line(run(target, metrics=metrics)) == final_line(run(original))
    rows = [json.loads(line) for line in metrics.read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2, 2]  # two epoch-end evaluations and the final evaluate()
    assert all("eval_loss" in r and "step" in r for r in rows)
    assert (tmp_path / "out").is_dir()
