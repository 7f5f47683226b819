"""Proposal ids after a resume: numbering goes on from the recorded session, and the Diff pane keeps
every proposal (also for sessions recorded before, where a resumed session reused "p1")."""

from __future__ import annotations

import asyncio

from aft_tui.engine import events as ev
from aft_tui.engine.engine import Engine
from aft_tui.engine.proposals import highest_proposal_number
from aft_tui.engine.session import log_path
from aft_tui.engine.session_log import read_events
from aft_tui.settings import Settings
from aft_tui.ui.app import AftApp
from aft_tui.ui.session_view import SessionView
from tests.ui.conftest import wait_for


def _proposal(title: str) -> ev.Proposal:
    return ev.Proposal(proposal_kind="params", title=title, rationale="a test")


async def _first_session(engine: Engine) -> None:
    await engine.start()
    await engine.propose(_proposal("first"), auto=True)
    waiting = asyncio.create_task(engine.propose(_proposal("second")))
    await asyncio.sleep(0)
    engine.decide("p2", approved=False, feedback="not now")
    await waiting
    engine.close("quit")


def _resume(engine: Engine) -> Engine:
    return Engine.open(None, Settings(), session_id=engine.session_id, resume=True, project=engine.info.project)


async def test_ids_continue_after_a_resume(engine):
    await _first_session(engine)
    path = log_path(engine.state_dir, engine.session_id)
    assert highest_proposal_number(path) == 2
    again = _resume(engine)
    await again.start()
    try:
        decision = await again.propose(_proposal("third"), auto=True)
    finally:
        again.close("quit")
    assert decision.proposal_id == "p3"
    ids = [e.proposal_id for e in read_events(path) if isinstance(e, ev.Proposal)]
    assert ids == ["p1", "p2", "p3"]


def test_highest_number_ignores_other_ids_and_torn_lines(tmp_path):
    path = tmp_path / "s.jsonl"
    assert highest_proposal_number(path) == 0  # no log yet
    path.write_text('{"kind": "proposal", "proposal_id": "p9"}\n'
                    '{"kind": "trial_log", "lines": ["\\"proposal_id\\": \\"p50\\""]}\n'
                    '{"kind": "decision", "proposal_id": "custom-3"}\n'
                    '{"kind": "proposal", "proposal_id": "p12", "tit')
    assert highest_proposal_number(path) == 9


async def test_the_diff_pane_keeps_the_recorded_proposal_after_a_resume(engine):
    await _first_session(engine)
    again = _resume(engine)
    earlier = list(read_events(log_path(engine.state_dir, engine.session_id)))
    app = AftApp(again, earlier=earlier, save_setting=lambda k, v: None)
    try:
        async with app.run_test(size=(160, 48)) as pilot:
            await wait_for(pilot, lambda: again._log is not None, what="the resumed engine to start")
            task = asyncio.create_task(again.propose(_proposal("third")))
            await wait_for(pilot, lambda: app.focused is app.diff, what="the new proposal to take the keyboard")
            assert list(app.view.proposals) == ["p1", "p2", "p3"]
            assert app.diff.current.proposal.title == "third"
            await pilot.press("a")
            decision = await asyncio.wait_for(task, 5)
            assert decision.proposal_id == "p3" and decision.approved
            await wait_for(pilot, lambda: not app.view.pending(), what="the decision to reach the model")
            verdicts = {pid: state.verdict for pid, state in app.view.proposals.items()}
            assert verdicts == {"p1": "approved (auto)", "p2": "rejected", "p3": "approved"}
    finally:
        again.close("quit")


def test_a_reused_id_in_an_older_recording_keeps_both_proposals():
    view = SessionView()
    first, second = _proposal("before the resume"), _proposal("after the resume")
    first.proposal_id = second.proposal_id = "p1"
    for event in (first, ev.Decision(proposal_id="p1", approved=True, by="auto"), second):
        view.apply(event)
    states = list(view.proposals.values())
    assert [s.proposal.title for s in states] == ["before the resume", "after the resume"]
    assert [s.pending for s in states] == [False, True]
    view.apply(ev.Decision(proposal_id="p1", approved=False))
    assert [s.verdict for s in states] == ["approved (auto)", "rejected"]
