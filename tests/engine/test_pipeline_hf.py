"""The Hugging Face example targets through `aft pipeline --yes` on CPU: refactor where needed,
smoke run, three trials, a best trial at least as good as the defaults, the outputs layout."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import git
from tests.engine.helpers import aft, results, session_ids

pytest.importorskip("transformers")
pytest.importorskip("peft")
pytestmark = pytest.mark.slow

CASES = [
    # folder, script, metric, direction, parameters to tune (a small space keeps CI short)
    ("convo_classifier", "train_classifier.py", "eval_accuracy", "max", "learning_rate"),
    ("convo_classifier", "train_unified.py", "eval_loss", "min", "learning_rate"),
    ("llm_config_mlflow", "train.py", "eval_loss", "min", "learning_rate,lora_r"),
    ("two_stage", "train.py", "rouge_l", "max", "training.m2.learning_rate,training.m2.lora_r"),
    ("lora_sft", "train.py", "eval_loss", "min", "learning_rate,lora_alpha"),
]


@pytest.mark.parametrize("folder,script,metric,direction,params", CASES, ids=[f"{c[0]}/{c[1]}" for c in CASES])
def test_hf_pipeline(git_project, folder: str, script: str, metric: str, direction: str, params: str):
    project = git_project(folder)
    target = f"{folder}/{script}"
    proc = aft(project, "pipeline", target, "--trials", "3", "--metric", metric, "--direction", direction,
               "--params", params, "--yes", timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr

    runs = results(project)
    assert len(runs) == 3
    ok = [r for r in runs if r["status"] == "ok"]
    assert ok and runs[0]["status"] == "ok", [(r["status"], r["reason"]) for r in runs]
    pick = max if direction == "max" else min
    best = pick(r["value"] for r in ok)
    assert best == pick(best, runs[0]["value"])  # at least as good as the defaults

    out = project / "outputs"
    for name in ("result.json", "results.json", "metadata.json"):
        assert (out / name).is_file()
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["best_value"] == best and meta["metric"] == metric
    for r in runs:
        assert (out / r["run_id"] / f"{r['run_id']}.log").is_file()
    (sid,) = session_ids(project)
    subjects = git(project, "log", "--format=%s", f"main..aft/{sid}").splitlines()
    assert len([s for s in subjects if s.startswith("trial ")]) == 3
