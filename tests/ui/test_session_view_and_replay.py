"""Folding events into the session view, the replay cursor, and the printed transcript."""

from __future__ import annotations

import io
import json

import pytest

from aft_tui.engine import events as ev
from aft_tui.errors import UserError
from aft_tui.ui.session_view import SessionView
from aft_tui.ui.plain import print_transcript
from aft_tui.ui.replay import MAX_GAP_S, ReplayController, load_events, resolve_session


def _view(session_file) -> SessionView:
    view = SessionView()
    for event in load_events(session_file):
        view.apply(event)
    return view


def test_model_folds_a_whole_session(session_file):
    view = _view(session_file)
    assert view.session_id == "20250615-120000-abc" and view.branch.startswith("aft/")
    assert [r.status for r in view.rows()] == ["ok", "ok", "pruned"]
    assert view.best_value == pytest.approx(0.915) and view.best_run.endswith("t002")
    assert view.best_so_far() == [(1, 0.842), (2, 0.915)]
    assert [x for x, _ in view.curve(view.rows()[1].run_id)] == [1.0, 2.0, 3.0, 4.0]
    assert [p.proposal_id for p in view.pending()] == ["p2"]
    assert view.latest_proposal().proposal.proposal_id == "p2"
    fields = view.status_fields()
    assert fields["trial"] == "3/3" and fields["best"] == "val_acc=0.915 (t002)" and "pending" in fields
    # Streamed chunks become one assistant entry holding the final text.
    assistant = [m for m in view.messages if m.role == "assistant"]
    assert len(assistant) == 1 and assistant[0].final and assistant[0].text.endswith("then tune them.")
    assert len(view.logs[view.rows()[0].run_id]) == 4 * 6


def test_model_survives_odd_values():
    view = SessionView()
    view.apply(ev.TrialStarted(run_id="s-t001", number=1, params={"lr": 0.1}))
    view.apply(ev.TrialFinished(run_id="s-t001", number=1, status="failed", value="nan", reason="diverged"))
    view.apply(ev.UnknownEvent(raw={"kind": "from_the_future"}))
    assert view.rows()[0].status == "failed"
    assert view.best_so_far() == []
    assert any("diverged" in m.text for m in view.messages)


def test_replay_step_seek_and_speed(session_file):
    replay = ReplayController(load_events(session_file), speed=2)
    assert replay.step().kind == "session_started" and replay.position == 1
    replay.seek(replay.total)
    assert replay.at_end and replay.step() is None
    full = replay.view
    rebuilt = replay.seek(5)
    assert rebuilt is not full and replay.position == 5 and not rebuilt.trials
    replay.seek(replay.total)
    assert [r.status for r in replay.view.rows()] == [r.status for r in full.rows()]
    replay.seek(1)
    assert 0 <= replay.next_delay() <= MAX_GAP_S / 2
    assert replay.faster() == 4 and replay.slower() == 2
    with pytest.raises(UserError):
        ReplayController([], speed=0)


def test_resolve_session_by_path_id_and_bundled_name(tmp_path, session_file):
    assert resolve_session(str(session_file)) == session_file
    sessions = tmp_path / ".aft" / "sessions"
    sessions.mkdir(parents=True)
    (sessions / "abc.jsonl").write_text(session_file.read_text())
    assert resolve_session("abc", cwd=tmp_path) == sessions / "abc.jsonl"
    assert resolve_session("demo-mlp", cwd=tmp_path).name == "demo-mlp.jsonl"
    with pytest.raises(UserError) as info:
        resolve_session("nope", cwd=tmp_path)
    assert "(sessions here: abc)" in info.value.message


def test_damaged_and_empty_files_are_clear_errors(tmp_path, session_file):
    torn = tmp_path / "torn.jsonl"
    torn.write_text(session_file.read_text() + '{"kind": "trial_log", "run_')
    assert len(load_events(torn)) == len(load_events(session_file))
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with pytest.raises(UserError) as info:
        load_events(empty)
    assert "holds no events" in info.value.message


def test_transcript_prints_the_story(session_file):
    from rich.console import Console

    out = io.StringIO()
    print_transcript(load_events(session_file), console=Console(file=out, width=120, color_system=None))
    text = out.getvalue()
    for fragment in ("you> Get the best validation accuracy", "Proposal p1 (refactor)", "Proposal p1 approved",
                     "Trial 2 ok: val_acc=0.915", "New best val_acc=0.915", "| epoch 1: val_acc="):
        assert fragment in text, fragment
    # The streamed answer is printed once, as it streamed.
    assert text.count("hidden size and dropout as flags") == 1


def test_bundled_demo_session_replays(tmp_path):
    from pathlib import Path

    demo = Path(__file__).resolve().parents[2] / "sessions" / "demo-mlp.jsonl"
    events = load_events(demo)
    replay = ReplayController(events)
    replay.seek(replay.total)
    view = replay.view
    assert view.target.endswith("mlp_classifier.py")
    assert len(view.rows()) == 4 and all(r.status in ("ok", "pruned") for r in view.rows())
    assert view.best_value is not None and view.metric == "val_acc"
    for line in demo.read_text().splitlines():
        assert json.loads(line)["kind"]


def test_a_once_per_run_objective_plots_its_per_epoch_held_out_curve():
    view = SessionView()
    view.apply(ev.SessionStarted(session_id="s", target="train.py", branch="aft/s",
                                  settings={"metric": "validation", "direction": "max"}))
    view.apply(ev.TrialStarted(run_id="s-t001", number=1, params={"lr": 0.1}))
    for epoch, (loss, acc) in enumerate([(0.9, 0.6), (0.7, 0.7), (0.6, 0.75)], start=1):
        view.apply(ev.TrialMetric(run_id="s-t001", epoch=epoch, values={"loss": loss, "val_accuracy": acc}))
    view.apply(ev.TrialMetric(run_id="s-t001", values={"validation": 0.75}))
    assert view.metric == "validation"
    assert view.curve_metric("s-t001") == "val_accuracy"
    assert view.curve("s-t001") == [(1.0, 0.6), (2.0, 0.7), (3.0, 0.75)]


def test_the_runs_table_shows_later_trials_by_what_they_change():
    view = SessionView()
    view.apply(ev.TrialStarted(run_id="s-t001", number=1, params={"lr": 0.001, "epochs": 5, "dropout": 0.2}))
    view.apply(ev.TrialStarted(run_id="s-t002", number=2, params={"lr": 0.001, "epochs": 8, "dropout": 0.2}))
    view.apply(ev.TrialStarted(run_id="s-t003", number=3, params={"lr": 0.001, "epochs": 5, "dropout": 0.2}))
    first, second, third = view.rows()
    assert view.params_text(first) == "lr=0.001, epochs=5, dropout=0.2"
    assert view.params_text(second) == "epochs=8"
    assert view.params_text(third) == "same as trial 1"


def test_research_without_a_count_limit_shows_no_trial_total():
    """The session's default --trials (8) is not research's limit: the clock is, so the status
    bar counts experiments without a total from the moment research starts."""
    view = SessionView()
    view.apply(ev.SessionStarted(session_id="s", target="train.py", branch="aft/s", settings={"trials": 8}))
    assert view.status_fields()["trial"] == "0/8"
    view.apply(ev.TuneProgress(done=0, total=0, budget_left_s=3600.0))
    assert view.status_fields()["trial"] == "0" and view.status_fields()["budget"] == "1h00m left"
    view.apply(ev.TuneProgress(done=2, total=5))  # --experiments 5
    assert view.status_fields()["trial"] == "0/5"
