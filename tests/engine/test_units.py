"""Pieces of the loop that need no subprocess: settings, search space, invocation, session log."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aft_tui.engine import events as ev
from aft_tui.engine.session_log import SessionLog, read_events
from aft_tui.errors import UserError
from aft_tui.runs.invocation import build_args
from aft_tui.runs.slots import assign_slots
from aft_tui.settings import load_settings, save_user_setting
from aft_tui.target.params import Param
from aft_tui.tuning.space import build_space


def _params() -> list[Param]:
    return [
        Param("lr", "float", 0.001, flag="--lr", low=1e-5, high=1e-1, log=True),
        Param("epochs", "int", 5, flag="--epochs", low=1, high=20),
        Param("batch_size", "int", 32, flag="--batch-size", choices=[16, 32, 64]),
        Param("amp", "bool", False, flag="--amp", extra={"action": "store_true"}),
        Param("seed", "int", 0, flag="--seed", extra={"tunable": False}),
    ]


def test_space_from_params_and_overrides():
    space = build_space(_params(), {"lr": {"low": 1e-4, "high": 1e-2}, "batch_size": {"choices": [64, 128]}})
    names = [d.name for d in space.dims]
    assert names == ["lr", "epochs", "batch_size", "amp"]  # seed is reported, not tuned
    lr = space.get("lr")
    assert (lr.low, lr.high, lr.log) == (1e-4, 1e-2, True)
    assert space.get("batch_size").choices == [32, 64, 128]  # the default stays reachable
    assert space.validate({"lr": 5.0}) == ["lr=5.0 is outside lr ∈ [0.0001, 0.01] (log)"]
    assert space.validate({"nope": 1}) == ["'nope' is not in the search space"]


def test_space_fixed_and_excluded():
    space = build_space(_params(), {"epochs": {"fixed": 3}, "amp": {"exclude": True}})
    assert [d.name for d in space.dims] == ["lr", "batch_size"]
    assert space.fixed == {"epochs": 3}


def test_space_rejects_unknown_parameter():
    with pytest.raises(UserError, match="momentum"):
        build_space(_params(), {"momentum": {"low": 0.1, "high": 0.9}})


def test_space_rejects_bad_range():
    with pytest.raises(UserError, match="low < high"):
        build_space(_params(), {"lr": {"low": 0.1, "high": 0.01}})


def test_build_args_flags_and_presence(tmp_path: Path):
    space = build_space(_params(), {"epochs": {"fixed": 3}})
    args = build_args(space, {"lr": 0.01, "batch_size": 64, "amp": True}, tmp_path, tmp_path)
    assert args == ["--epochs", "3", "--lr", "0.01", "--batch-size", "64", "--amp"]
    args = build_args(space, {"lr": 0.01, "batch_size": 64, "amp": False}, tmp_path, tmp_path)
    assert "--amp" not in args


def test_build_args_writes_per_trial_config(tmp_path: Path):
    cfg = tmp_path / "config.yaml"
    cfg.write_text("training:\n  m2:\n    learning_rate: 0.001\n    epochs: 2\nname: demo\n")
    param = Param("training.m2.learning_rate", "float", 0.001, source="config_file", low=1e-4, high=1e-2, log=True,
                  extra={"config_path": "config.yaml", "config_flag": "--config", "key": "training.m2.learning_rate"})
    space = build_space([param])
    run_dir = tmp_path / "run"
    args = build_args(space, {"training.m2.learning_rate": 0.005}, run_dir, tmp_path)
    assert args == ["--config", str(run_dir / "config.yaml")]
    import yaml

    written = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert written["training"]["m2"] == {"learning_rate": 0.005, "epochs": 2}
    assert written["name"] == "demo"
    assert "0.001" in cfg.read_text()  # the original is untouched


def test_settings_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "pyproject.toml").write_text('[tool.aft]\ntrials = 12\nmetric = "val_acc"\n')
    s = load_settings(tmp_path, {"trials": 3})
    assert (s.trials, s.metric) == (3, "val_acc")
    (tmp_path / "aft.toml").write_text('trials = 20\ndirection = "max"\n[search.lr]\nlow = 0.001\nhigh = 0.1\n')
    s = load_settings(tmp_path)
    assert s.trials == 20 and s.metric is None and s.search["lr"]["high"] == 0.1
    monkeypatch.setenv("AFT_MODEL", "ollama/llama3.1")
    assert load_settings(tmp_path).model == "ollama/llama3.1"


def test_settings_errors(tmp_path: Path):
    (tmp_path / "aft.toml").write_text("trails = 3\n")
    with pytest.raises(UserError, match="Unknown setting 'trails'"):
        load_settings(tmp_path)
    (tmp_path / "aft.toml").write_text("trials = \n")
    with pytest.raises(UserError, match="not valid TOML"):
        load_settings(tmp_path)
    (tmp_path / "aft.toml").write_text('direction = "up"\n')
    with pytest.raises(UserError, match="direction"):
        load_settings(tmp_path)


def test_user_setting_is_remembered(tmp_path: Path):
    save_user_setting("theme", "light")
    assert load_settings(tmp_path).theme == "light"


def test_session_log_round_trip_and_torn_line(tmp_path: Path):
    path = tmp_path / "s.jsonl"
    with SessionLog(path) as log:
        log.append(ev.SessionStarted(session_id="s1", target="train.py"))
        log.append(ev.TrialFinished(run_id="r1", number=1, status="failed", value=float("nan")))
    with open(path, "a") as fh:
        fh.write('{"kind": "trial_started", "run_id": "r2"')  # a crash mid-write
    events = list(read_events(path))
    assert [e.kind for e in events] == ["session_started", "trial_finished"]
    assert events[1].value == "nan"
    for line in path.read_text().splitlines()[:2]:
        json.loads(line)  # every complete line is valid JSON (no bare NaN)


def test_slots():
    assert assign_slots(2, 1, []) == [None, None]
    assert assign_slots(2, 2, [0, 1, 2, 3]) == [[0, 1], [2, 3]]
    with pytest.raises(UserError, match="--parallel 1"):
        assign_slots(3, 2, [0, 1, 2])


def test_the_runs_table_shows_later_trials_by_their_changes():
    from rich.console import Console

    from aft_tui.ui.tables import runs_table

    base = {"session": "s", "metric": "val_acc", "direction": "max", "status": "ok", "duration": 1.0, "commit": "abc"}
    results = [dict(base, number=1, run_id="s-t001", value=0.8, params={"lr": 0.1, "epochs": 5}),
               dict(base, number=2, run_id="s-t002", value=0.9, params={"lr": 0.1, "epochs": 9}),
               dict(base, number=3, run_id="s-t003", value=0.7, params={"lr": 0.1, "epochs": 5})]
    console = Console(width=140, record=True)
    console.print(runs_table(results))
    lines = console.export_text().splitlines()
    row = {line.split("│")[1].strip(): line for line in lines if line.startswith("│")}
    assert "lr=0.1, epochs=5" in row["1"] and "epochs=9" in row["2"] and "lr=" not in row["2"]
    assert "same as trial 1" in row["3"]
