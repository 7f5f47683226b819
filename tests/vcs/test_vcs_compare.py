"""Comparing two trials: parameter diff, metric diff and code diff without the parameter file."""

from __future__ import annotations

from pathlib import Path

from aft_tui.vcs.compare import compare
from aft_tui.vcs.workspace import PARAMS_FILE, Workspace


def test_compare_two_trials(user_repo: Path) -> None:
    ws = Workspace.create(user_repo, "s1")
    params_a = {"lr": 0.1, "batch_size": 32, "optimizer": "adam"}
    params_b = {"lr": 0.3, "batch_size": 32, "optimizer": "sgd", "warmup": 10}
    a = ws.commit_params(params_a, "trial 1")
    ws.commit("repair", files={"train.py": "LR = 0.1\nprint('fixed')\n"})
    b = ws.commit_params(params_b, "trial 2")
    metrics_a = {"val_loss": 0.52, "accuracy": 0.8, "status": "ok"}
    metrics_b = {"val_loss": 0.48, "accuracy": 0.85, "status": "ok", "epochs": 3}

    result = compare(ws, a, b, params_a, params_b, metrics_a, metrics_b)
    assert result.param_changes == [("lr", 0.1, 0.3), ("optimizer", "adam", "sgd"), ("warmup", None, 10)]
    assert result.unchanged_params == ["batch_size"]
    names = [m[0] for m in result.metric_changes]
    assert names == ["val_loss", "accuracy", "status", "epochs"]
    val_loss = result.metric_changes[0]
    assert val_loss[:3] == ("val_loss", 0.52, 0.48) and abs(val_loss[3] + 0.04) < 1e-12
    assert result.metric_changes[2][3] is None and result.metric_changes[3][3] is None
    assert "train.py" in result.code_diff and "+print('fixed')" in result.code_diff
    assert PARAMS_FILE not in result.code_diff

    text = result.render_text()
    rows = [line.split() for line in text.splitlines()]
    assert ["lr", "0.1", "->", "0.3"] in rows
    assert ["val_loss", "0.52", "->", "0.48", "(-0.04)"] in rows
    assert "warmup" in text and "(unset) -> 10" in text
    assert "val_loss" in text and "(-0.04)" in text
    assert "unchanged: batch_size" in text
    assert "+print('fixed')" in text


def test_compare_identical_code(user_repo: Path) -> None:
    ws = Workspace.create(user_repo, "s1")
    a = ws.commit_params({"lr": 0.1}, "trial 1")
    b = ws.commit_params({"lr": 0.1}, "trial 2")
    result = compare(ws, a, b, {"lr": 0.1}, {"lr": 0.1}, {}, {})
    assert result.param_changes == [] and result.code_diff == ""
    text = result.render_text()
    assert "(no parameter changes)" in text and "(no metrics)" in text and "(no code changes)" in text
