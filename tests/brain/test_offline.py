"""The offline brain: useful, deterministic answers with no model and no key."""

from __future__ import annotations

import subprocess
import sys

from aft_tui.brain import get_brain
from aft_tui.brain.goals import parse_goal
from aft_tui.brain.offline import OfflineBrain, status_text
from aft_tui.settings import Settings
from tests.brain.conftest import read_events
from tests.conftest import ROOT

CONTEXT = {
    "target": "train.py", "metric": "val_acc", "direction": "max", "trials_budget": 8, "branch": "aft/x",
    "runs": [
        {"number": 1, "status": "ok", "value": 0.71, "params": {"lr": 0.1, "batch_size": 64}, "reason": ""},
        {"number": 2, "status": "ok", "value": 0.83, "params": {"lr": 0.01, "batch_size": 32}, "reason": ""},
        {"number": 3, "status": "failed", "value": None, "params": {"lr": 0.9}, "reason": "val_acc became nan (diverged)"},
    ],
    "latest_findings": [{"code": "overfitting", "sentence": "Validation accuracy peaked at epoch 2 and then fell."}],
}


def test_get_brain_is_offline_without_a_model(monkeypatch):
    monkeypatch.delenv("AFT_MODEL", raising=False)
    assert get_brain(Settings()).name == "offline"


def test_get_brain_is_the_llm_brain_when_a_model_is_set(monkeypatch):
    assert get_brain(Settings(model="openai/test-model")).name == "llm"
    monkeypatch.setenv("AFT_MODEL", "ollama/llama3.1")
    assert get_brain(Settings()).name == "llm"


def test_importing_the_brain_package_does_not_import_litellm():
    code = ("import sys, aft_tui.brain, aft_tui.brain.offline, aft_tui.tuning.llm_strategy; "
            "from aft_tui.brain import get_brain; from aft_tui.settings import Settings; "
            "get_brain(Settings(model='openai/x')); "
            "print(sorted(m for m in ('litellm', 'optuna', 'torch', 'openai') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_status_answer_names_the_best_trial_and_the_latest_failure():
    reply = OfflineBrain().answer("how is it going?", CONTEXT)
    assert "Best so far: trial 2 with val_acc=0.83 (lr=0.01, batch_size=32)" in reply
    assert "3 of 8 trials done" in reply
    assert "diverged" in reply
    assert "peaked at epoch 2" in reply
    assert reply == OfflineBrain().answer("how is it going?", CONTEXT)  # deterministic


def test_status_with_no_trials_says_how_to_start():
    text = status_text({"target": "train.py", "trials_budget": 8})
    assert "No trials yet" in text and "/tune" in text and "not chosen yet" in text


def test_help_lists_the_commands():
    reply = OfflineBrain().answer("what commands are there?", {})
    for command in ("/tune", "/runs", "/compare", "/rollback", "/refactor", "/repair", "/model"):
        assert command in reply


def test_asking_about_models_says_how_to_configure_one():
    reply = OfflineBrain().answer("can I use gpt or an api key?", {})
    assert "Set --model (e.g. openai/gpt-4o-mini or ollama/llama3.1) and the provider's key in the environment" in reply


def test_unrecognised_text_still_says_how_to_configure_a_model():
    reply = OfflineBrain().answer("why is the sky blue", CONTEXT)
    assert "--model" in reply and "Best so far" in reply


def test_goals_in_plain_words():
    assert parse_goal("maximize accuracy", ["val_loss", "val_acc"]).settings == {"metric": "val_acc", "direction": "max"}
    assert parse_goal("minimise val loss").settings == {"metric": "val_loss", "direction": "min"}
    assert parse_goal("try 20 trials").settings == {"trials": 20}
    assert parse_goal("use random search").settings == {"strategy": "random"}
    goal = parse_goal("Please minimize the validation loss and run 30 trials with the hybrid strategy within 2 hours")
    assert goal.settings == {"metric": "val_loss", "direction": "min", "trials": 30, "strategy": "hybrid", "budget": 7200.0}
    assert parse_goal("maximise f1, stop at 95%").settings["target"] == 0.95
    assert not parse_goal("improve it").understood
    assert not parse_goal("what does random mean?").understood


async def test_offline_chat_applies_safe_goals_and_explains_unsafe_ones(engine_factory):
    engine = await engine_factory(metric=None, direction=None)
    reply = await engine.chat("try 20 trials and maximise val_acc")
    assert engine.settings.trials == 20
    assert engine.settings.metric == "val_acc" and engine.settings.direction == "max"
    assert "Set " in reply and "trials=20" in reply
    # Views and replays learn of it, and a resume keeps it.
    changed = [e for e in read_events(engine) if e["kind"] == "settings_changed"]
    assert changed[-1]["values"] == {"metric": "val_acc", "direction": "max", "trials": 20}
    assert changed[-1]["origin"] == "the conversation"
    from aft_tui.engine.session import SessionState

    saved = SessionState.load(engine.state_dir, engine.session_id).settings
    assert (saved["trials"], saved["metric"]) == (20, "val_acc")
    from aft_tui.engine import events as ev
    from aft_tui.ui.session_view import SessionView

    view = SessionView()
    for event in changed:
        view.apply(ev.event_from_dict(event))
    assert view.total_trials == 20 and view.metric == "val_acc"

    engine.state.metric, engine.state.direction = "val_acc", "max"
    reply = await engine.chat("minimise val loss")
    assert engine.settings.metric == "val_acc"  # unchanged: the study's objective cannot change mid-session
    assert "start a new session" in reply and "--metric val_loss --direction min" in reply

    reply = await engine.chat("hello there")
    assert "Set --model (e.g. openai/gpt-4o-mini or ollama/llama3.1)" in reply

    kinds = [e["kind"] for e in read_events(engine)]
    assert "user_message" in kinds and "assistant_message" in kinds


async def test_offline_brain_proposes_nothing():
    brain = OfflineBrain()
    assert await brain.refactor("x = 1\n", {}, "expose lr") is None
    assert await brain.repair("x = 1\n", "Traceback", "", "") is None
    assert await brain.propose_params(None, [], [], None) is None
    assert "--model" in brain.last_problem
    assert brain.usage == {"prompt_tokens": 0, "completion_tokens": 0, "cost_usd": None}


async def test_llm_strategy_without_a_model_tunes_with_the_optimizer_and_says_so_once(engine_factory):
    engine = await engine_factory(strategy="llm", trials=3)
    await engine.tune()
    runs = sorted(engine.runs(), key=lambda r: r["number"])
    assert [r["status"] for r in runs] == ["ok"] * 3
    assert [r["strategy"] for r in runs] == ["defaults", "llm:tpe", "llm:tpe"]
    assert "no model is configured" in runs[1]["rationale"]
    infos = [e["text"] for e in read_events(engine) if e["kind"] == "info" and "needs a model" in e["text"]]
    assert len(infos) == 1 and "--model" in infos[0]


async def test_a_goal_is_followed_by_the_step_the_script_needs(engine_factory):
    flags = await engine_factory()
    reply = await flags.chat("try 5 trials")
    assert "Run /tune to start: train.py takes its parameters as flags (" in reply
    constants = await engine_factory("const_train.py")
    reply = await constants.chat("try 5 trials")
    assert "const_train.py hard-codes its parameters (" in reply and "run /pipeline to expose them" in reply


def test_a_negative_trial_count_is_refused_not_read_as_positive():
    for text in ("try -3 trials", "run −3 runs", "0 trials please"):
        goal = parse_goal(text)
        assert "trials" not in goal.settings, text
        assert goal.understood and "1 or more" in goal.notes[0], text
    assert parse_goal("run 3 trials").settings == {"trials": 3}
    assert "trials" not in parse_goal("lr 0.5 runs fast").settings  # a decimal's tail is not a count
