"""The chat end to end in the Textual app against a real OpenAI-compatible server on 127.0.0.1:
streamed answers grow in the conversation, actions the model asks for wait in the Diff pane and
run only once approved with a key, and the status bar shows what the model cost."""

from __future__ import annotations

import json

from textual.widgets import Markdown

from aft_tui.engine import events as ev
from aft_tui.engine.session_log import read_events
from aft_tui.ui.app import AftApp
from tests.brain.llm_server import text, tool
from tests.llm_ui.conftest import MODEL, shown, type_line, wait_for


def _assistant_texts(app: AftApp) -> list[str]:
    return [shown(w) for w in app.conversation.scrollback.query(Markdown)]


def _spy_streaming(app: AftApp) -> list[str]:
    """Record, at every redraw, the assistant text the conversation shows while it is still streaming."""
    seen: list[str] = []
    original = app.conversation.sync

    def sync(model):
        original(model)
        for entry, widget, drawn in app.conversation._streaming.values():
            seen.append(drawn)

    app.conversation.sync = sync
    return seen


async def test_streamed_answer_then_a_tune_that_waits_for_the_a_key(make_engine, server):
    engine = make_engine(model=MODEL, api_base=server.url)
    answer = "Nothing has run yet. The script takes --lr and --epochs, so it can be tuned as it is."
    server.script(text(answer),
                  tool("tune", {"trials": 1, "strategy": "random", "reason": "a first look at the learning rate"}),
                  text("Trial 1 finished; see the Runs pane."))
    app = AftApp(engine, save_setting=lambda k, v: None)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: app.view.session_id, what="the session to start")
        assert "Assistant: openai/test-model at http://127.0.0.1:" in "".join(
            shown(w) for w in app.conversation.scrollback.children if hasattr(w, "content"))
        streaming = _spy_streaming(app)

        await type_line(pilot, app, "what has run so far?")
        await wait_for(pilot, lambda: answer in "".join(_assistant_texts(app)), what="the streamed answer")
        partial = [s for s in streaming if s and s != answer]
        assert partial and all(answer.startswith(s) for s in partial)  # it grew in place, piece by piece
        # The usage event follows the last streamed piece: wait for it rather than race it.
        await wait_for(pilot, lambda: "18 tok" in shown(app.status), what="the token count in the status bar")
        assert "llm" in app.view.status_fields()

        await type_line(pilot, app, "try one trial with random search")
        await wait_for(pilot, lambda: app.view.pending(), what="the tune proposal")
        await wait_for(pilot, lambda: app.focused is app.diff, what="the Diff pane to take the keyboard")
        (proposal,) = app.view.pending()
        assert proposal.proposal_kind == "tune" and proposal.diff == ""
        title, body = shown(app.diff.query_one("#diff-title")), shown(app.diff.query_one("#diff-code"))
        assert "PENDING" in title and "Run 1 trial with the random strategy" in title
        assert "What approving does" in body and "Runs train.py 1 time" in body and "tpe → random" in body
        assert "(no file changes)" not in body
        assert "a first look at the learning rate" in shown(app.diff.query_one("#diff-rationale"))
        # Waiting: nothing ran, and the model has not been told anything yet.
        await pilot.pause(0.3)
        assert engine.runs() == [] and len(server.requests) == 2
        assert app.diff.check_action("edit", ()) is False  # a run has no diff to edit: only a / r / f

        await pilot.press("a")
        await wait_for(pilot, lambda: "Trial 1 finished" in "".join(_assistant_texts(app)), what="the final answer")
        assert [r["status"] for r in engine.runs()] == ["ok"]
        assert "APPROVED" in shown(app.diff.query_one("#diff-title"))
        result = json.loads(server.requests[2]["body"]["messages"][-1]["content"])
        assert result["finished"] is True and result["trials"] == 1
        await wait_for(pilot, lambda: "54 tok" in shown(app.status), what="the status bar's token count")

    events = list(read_events(engine._log.path))
    usage = [e for e in events if isinstance(e, ev.LLMUsage)]
    assert [u.calls for u in usage] == [1, 2, 3] and usage[-1].prompt_tokens + usage[-1].completion_tokens == 54
    assert usage[-1].model == MODEL and usage[-1].cost_usd is None  # a test model has no price
    decisions = [e for e in events if isinstance(e, ev.Decision)]
    assert [(d.approved, d.by) for d in decisions] == [(True, "user")]
    assert engine.state.notes["llm_usage"]["calls"] == 3


async def test_a_rollback_shows_what_it_restores_and_r_rejects_it(make_engine, server):
    engine = make_engine(model=MODEL, api_base=server.url)
    server.script(tool("rollback", {"trial": "1", "reason": "trial 1 used the original learning rate"}),
                  text("Understood: the branch stays as it is."))
    app = AftApp(engine, save_setting=lambda k, v: None)
    async with app.run_test(size=(80, 24)) as pilot:  # small terminal: one pane at a time behind tabs
        await wait_for(pilot, lambda: app.view.session_id, what="the session to start")
        await type_line(pilot, app, "/tune --trials 2")
        await wait_for(pilot, lambda: len(engine.runs()) == 2 and app.router.active is None, what="two trials")
        # The status bar counts against /tune's own --trials from trial 1 on, not the setting's 8.
        events = list(read_events(engine._log.path))
        first_progress = next(e for e in events if isinstance(e, ev.TuneProgress))
        assert first_progress.total == 2 and first_progress.done == 0
        assert events.index(first_progress) < next(i for i, e in enumerate(events) if isinstance(e, ev.TrialStarted))
        head_before = engine.workspace.head()
        await type_line(pilot, app, "go back to trial 1")
        await wait_for(pilot, lambda: app.view.pending(), what="the rollback proposal")
        await wait_for(pilot, lambda: app.active_pane == "diff" and app.focused is app.diff, what="the Diff tab")
        (proposal,) = app.view.pending()
        assert proposal.proposal_kind == "rollback"
        body = shown(app.diff.query_one("#diff-code"))
        assert "Adds a commit on aft/" in body and "restores trial 1's files" in body
        assert "parameters" in body and "lr=" in body
        if proposal.diff:  # the parameter file differs between the head and trial 1
            assert "Files it changes:" in body
        await pilot.press("e")  # editing means nothing for a rollback: the key does nothing
        await pilot.pause(0.2)
        assert app.view.pending()
        await pilot.press("r")
        await wait_for(pilot, lambda: "branch stays" in "".join(_assistant_texts(app)), what="the answer")
    assert engine.workspace.head() == head_before  # nothing was rolled back
    assert "rejected the proposal" in server.requests[1]["body"]["messages"][-1]["content"]
