"""Proposals that run something (tune, rollback) in the Diff pane, the router and the plain views:
a summary of what will run instead of an empty diff, the same approve/reject keys, no editing."""

from __future__ import annotations

import asyncio
import io

from rich.console import Console
from textual.widgets import Input

from aft_tui.engine import events as ev
from aft_tui.ui.commands import CommandRouter
from aft_tui.ui.app import AftApp
from aft_tui.ui.session_view import SessionView
from aft_tui.ui.plain import PlainView, print_transcript
from aft_tui.ui.proposal_text import editable, what_will_run
from tests.llm_ui.conftest import shown, wait_for

SUMMARY = "Runs train.py 3 times with these settings:\n  trials    3\n  strategy  tpe → random"


def _tune(summary: str = SUMMARY) -> ev.Proposal:
    return ev.Proposal(proposal_kind="tune", title="Run 3 trials with the random strategy",
                       rationale="the landscape is unexplored", summary=summary)


def test_what_will_run_and_editability():
    assert what_will_run(_tune()) == SUMMARY and not editable(_tune())
    old = _tune(summary="")  # recorded before proposals carried a summary
    assert what_will_run(old).startswith("Approving starts a tuning run")
    rollback = ev.Proposal(proposal_kind="rollback", title="Roll back to trial 1", diff="--- a/x\n+++ b/x\n")
    assert "restores that trial's files" in what_will_run(rollback) and not editable(rollback)
    refactor = ev.Proposal(proposal_kind="refactor", diff="--- a/train.py\n+++ b/train.py\n@@ -1 +1 @@\n-a\n+b\n")
    assert what_will_run(refactor) == "" and editable(refactor)
    assert what_will_run(ev.Proposal(proposal_kind="params")) == "Approving changes no file."


async def test_tune_proposal_in_the_diff_pane_is_rejected_with_a_reason(make_engine):
    engine = make_engine()
    app = AftApp(engine, save_setting=lambda k, v: None)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: app.view.session_id, what="the session to start")
        task = asyncio.create_task(engine.propose(_tune()))
        await wait_for(pilot, lambda: app.focused is app.diff, what="the Diff pane to take focus")
        body = shown(app.diff.query_one("#diff-code"))
        assert "What approving does" in body and "strategy  tpe → random" in body and "no file changes" not in body
        offered = {active.binding.action: active.enabled for active in app.active_bindings.values()}
        assert offered.get("approve") and offered.get("reject") and offered.get("feedback")
        assert "edit" not in offered  # the footer offers approve / reject / reject with reason only
        # Typed /edit says why not, and the proposal still waits.
        result = app.router.edit()
        assert result.kind == "error" and "is a tune with no file edit to change" in result.text
        assert not task.done()
        await pilot.press("f")
        await wait_for(pilot, lambda: isinstance(app.focused, Input) and app.focused.id == "prompt-input")
        app.focused.value = "only two trials"
        await pilot.press("enter")
        decision = await asyncio.wait_for(task, 5)
        assert not decision.approved and decision.feedback == "only two trials"
        await wait_for(pilot, lambda: "REJECTED" in shown(app.diff.query_one("#diff-title")), what="the verdict")
        assert "Feedback: only two trials" in shown(app.diff.query_one("#diff-rationale"))


async def test_router_diff_and_plain_views_show_the_summary(make_engine):
    engine = make_engine()
    await engine.start()
    state = SessionView()
    engine.subscribe(state.apply)
    out = io.StringIO()
    view = PlainView(console=Console(file=out, width=120, color_system=None))
    engine.subscribe(view)
    router = CommandRouter(engine, state, save_setting=lambda k, v: None)
    task = asyncio.create_task(engine.propose(_tune()))
    await asyncio.sleep(0)
    shown_diff = await router.run("/diff")
    assert shown_diff.kind == "diff" and SUMMARY in shown_diff.text
    assert (await router.run("/edit")).kind == "error"
    assert (await router.run("/approve")).kind == "decided"
    assert (await task).approved
    printed = out.getvalue()
    assert "Proposal p1 (tune): Run 3 trials with the random strategy" in printed and SUMMARY in printed
    assert "Waiting for your decision on p1: /approve (or y), /reject [REASON] (or n)." in printed  # no /edit offered

    transcript = io.StringIO()
    print_transcript([_tune(), ev.Decision(proposal_id="", approved=True)],
                     Console(file=transcript, width=120, color_system=None))
    assert SUMMARY in transcript.getvalue() and "Waiting for your decision" not in transcript.getvalue()
