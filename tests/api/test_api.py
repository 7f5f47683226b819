"""The Python API drives a real engine: real trials, real git, the session log read back."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest

import aft_tui.api as aft
from aft_tui.engine import events as ev
from aft_tui.errors import UserError
from tests.conftest import git

pytestmark = pytest.mark.slow


def test_tune_then_runs_sessions_compare_rollback_replay(git_project):
    project = git_project("mlp_classifier.py")
    seen: list[ev.Event] = []
    threads: set[int] = set()

    def on_event(event: ev.Event) -> None:
        seen.append(event)
        threads.add(threading.get_ident())

    summary = aft.tune(project / "mlp_classifier.py", trials=2, metric="val_acc", direction="max", params=["lr"],
                       on_event=on_event)
    sid = summary["session"]
    assert summary["trials"] == 2 and summary["metric"] == "val_acc"
    assert summary["best"]["value"] >= summary["defaults_value"]
    kinds = [e.kind for e in seen]
    assert kinds[0] == "session_started" and kinds[-1] == "session_ended"
    assert kinds.count("trial_started") == 2 and kinds.count("trial_finished") == 2
    assert threads == {threading.get_ident()}  # no running loop here: events arrive on this thread

    records = aft.runs(project)
    assert [r["number"] for r in records] == [1, 2]
    assert all(r["session"] == sid and set(r["params"]) == {"lr"} for r in records)
    (listed,) = aft.sessions(project)
    assert listed["session"] == sid and listed["status"] == "finished" and listed["trials"] == 2
    assert listed["best"] == summary["best"]["value"]

    comparison = aft.compare(1, "t002", project)
    assert [name for name, _, _ in comparison.param_changes] == ["lr"]
    assert "val_acc" in comparison.render_text()
    with pytest.raises(UserError, match="its trials are: 1, 2"):
        aft.compare(1, 9, project)

    sha = aft.rollback(1, project)
    assert git(project, "rev-parse", f"aft/{sid}") == sha
    restored = json.loads(git(project, "show", f"{sha}:aft_params.json"))
    assert restored["params"] == records[0]["params"]

    events = aft.replay(sid, project=project)
    assert [e.kind for e in events[: len(seen)]] == kinds
    rollback = next(e for e in events if isinstance(e, ev.Rollback))
    assert rollback.sha == sha and rollback.to_run == records[0]["run_id"]
    # Replay reads the recording; it runs nothing.
    assert len(aft.runs(project)) == 2
    assert aft.replay(project / ".aft" / "sessions" / f"{sid}.jsonl")[0].kind == "session_started"


async def test_pipeline_inside_a_running_event_loop_runs_the_engine_in_a_worker_thread(git_project):
    """What a Jupyter cell does: call the API while an event loop is running; proposals go to `approve`."""
    project = git_project("target.py")
    original = (project / "target.py").read_text()
    caller = threading.get_ident()
    threads: set[int] = set()
    kinds: list[str] = []

    def on_event(event: ev.Event) -> None:
        threads.add(threading.get_ident())
        kinds.append(event.kind)

    asks: list[str] = []

    def approve(proposal: ev.Proposal) -> bool:
        asks.append(proposal.proposal_kind)
        return "--learning-rate" in proposal.diff

    asyncio.get_running_loop()  # the condition under test
    summary = aft.pipeline(project / "target.py", trials=1, params=["learning_rate"], yes=False, approve=approve,
                           on_event=on_event)
    assert summary["trials"] == 1 and summary["best"] is not None, kinds
    assert threads == {caller}
    assert asks == ["refactor"]
    assert {"proposal", "decision", "commit", "trial_finished"} <= set(kinds)
    decision = next(e for e in aft.replay(summary["session"], project=project) if isinstance(e, ev.Decision))
    assert decision.approved and decision.by == "user"
    assert "--learning-rate" in git(project, "show", f"{summary['branch']}:target.py")
    assert (project / "target.py").read_text() == original  # the working copy is never changed


def test_a_failing_event_callback_stops_the_session_and_is_raised(git_project):
    project = git_project("mlp_classifier.py")

    def on_event(event: ev.Event) -> None:
        if event.kind == "session_started":
            raise RuntimeError("callback broke")

    with pytest.raises(RuntimeError, match="callback broke"):
        aft.tune(project / "mlp_classifier.py", trials=3, metric="val_acc", on_event=on_event)
    (listed,) = aft.sessions(project)
    assert listed["trials"] == 0  # stopped before the first trial, as Ctrl-C would
    assert aft.replay(listed["session"], project=project)[-1].kind == "session_ended"


def test_bad_input_is_one_sentence(git_project, tmp_path):
    project = git_project("mlp_classifier.py")
    with pytest.raises(UserError, match="does not exist"):
        aft.tune(project / "missing.py", trials=1)
    with pytest.raises(UserError, match="Unknown setting 'bogus'"):
        aft.tune(project / "mlp_classifier.py", trials=1, bogus=3)
    with pytest.raises(UserError, match="No target given"):
        aft.tune()
    with pytest.raises(UserError, match="No AFT session"):
        aft.runs(project)
    with pytest.raises(UserError, match="No session file or id 'nope'"):
        aft.replay("nope", project=tmp_path)
    discovery = aft.inspect(project / "mlp_classifier.py")
    assert {"lr", "epochs"} <= {p.name for p in discovery.params}
