"""`--model` and `--api-base` on `aft tune` and `aft pipeline` reach the brain: real processes whose
`llm` strategy asks the scripted server, and whose spending is printed and recorded."""

from __future__ import annotations

import json

import pytest

from aft_tui.runs.outputs import Outputs
from aft_tui.ui.usage import last_usage_in_log
from tests.brain.llm_server import text
from tests.llm_ui.conftest import MODEL, aft


@pytest.mark.parametrize("command", ["tune", "pipeline"])
def test_model_flags_reach_the_llm_strategy(project, server, command):
    server.script(text(json.dumps({"params": {"lr": 0.01}, "rationale": "lr=0.01 is closer to the peak"})))
    proc = aft(project, command, "train.py", "--model", MODEL, "--api-base", server.url, "--strategy", "llm",
               "--trials", "2", "--metric", "val_acc", "--direction", "max", "--yes")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert len(server.requests) == 1  # trial 1 runs the script's defaults; trial 2 asks the model
    request = server.requests[0]
    assert request["body"]["model"] == "test-model" and request["path"].startswith("/v1/chat/completions")
    assert "lr=0.01 is closer to the peak" in proc.stdout
    assert f"LLM: 18 tokens, price unknown ({MODEL}, 1 call)" in proc.stdout

    second = [r for r in Outputs(project / "outputs").results() if r.get("number") == 2][0]
    assert second["strategy"] == "llm" and second["params"]["lr"] == 0.01
    (log,) = (project / ".aft" / "sessions").glob("*.jsonl")
    assert last_usage_in_log(log) == {"model": MODEL, "prompt_tokens": 11, "completion_tokens": 7, "cost_usd": None,
                                      "calls": 1}
    runs = aft(project, "runs")
    assert f"LLM: 18 tokens, price unknown ({MODEL}, 1 call)" in runs.stdout


def test_without_model_flags_nothing_is_asked_and_nothing_is_said_about_spending(project, server):
    proc = aft(project, "tune", "train.py", "--trials", "1", "--metric", "val_acc", "--direction", "max")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert server.requests == [] and "LLM:" not in proc.stdout
    runs = aft(project, "runs")
    assert runs.returncode == 0 and "LLM:" not in runs.stdout and "Trials of session" in runs.stdout
