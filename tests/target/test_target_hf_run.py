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


def start(script: Path, metrics: Path | None = None) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "AFT_METRICS"}
    env.update(OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    if metrics is not None:
        env["AFT_METRICS"] = str(metrics)
    return subprocess.Popen([sys.executable, script.name], cwd=script.parent, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def final_line(proc: subprocess.Popen) -> str:
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err[-2000:]
    return [line for line in out.splitlines() if line.startswith("eval_loss:")][-1]


def test_trainer_callback_reports_each_evaluation(tmp_path):
    pytest.importorskip("transformers")
    pytest.importorskip("accelerate")
    (tmp_path / "original").mkdir()
    original = tmp_path / "original" / "train.py"
    shutil.copy(FIXTURES / "hf_tiny_trainer.py", original)
    target = tmp_path / "train.py"
    shutil.copy(FIXTURES / "hf_tiny_trainer.py", target)
    d = discover(target)
    assert d.framework == "hf_trainer" and "eval_loss" in d.metrics
    plan = plan_refactor(target, d, project_root=tmp_path)
    assert "callbacks=[_AftMetricsCallback()]" in plan.new_source
    target.write_text(plan.new_source)

    metrics = tmp_path / "metrics.jsonl"
    # With no flags the training is the same run: same final metric. (Both run at once: two cores.)
    refactored_run, original_run = start(target, metrics=metrics), start(original)
    assert final_line(refactored_run) == final_line(original_run)
    rows = [json.loads(line) for line in metrics.read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2, 2]  # two epoch-end evaluations and the final evaluate()
    assert all("eval_loss" in r and "step" in r for r in rows)
    assert (tmp_path / "out").is_dir()
