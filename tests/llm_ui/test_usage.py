"""Token and cost accounting: recorded as `llm_usage` events and in the session state, kept across
a model switch and a resume, and shown by the status bar, replay, transcripts and `aft runs`."""

from __future__ import annotations

import io
import json

from rich.console import Console

from aft_tui.engine import events as ev
from aft_tui.ui.commands import CommandRouter
from aft_tui.engine.engine import Engine
from aft_tui.engine.session import log_path, state_path
from aft_tui.settings import Settings
from aft_tui.ui.app import AftApp
from aft_tui.ui.session_view import SessionView
from aft_tui.ui.plain import print_transcript
from aft_tui.ui.replay import ReplayController
from aft_tui.ui.usage import add, fmt_cost, fmt_tokens, session_usage, short_usage, usage_line, used
from tests.brain.llm_server import text
from tests.llm_ui.conftest import MODEL, shown

PRICED = {"model": "openai/gpt-4o-mini", "prompt_tokens": 11_000, "completion_tokens": 1_300, "cost_usd": 0.0412,
          "calls": 5}


def test_wording():
    assert [fmt_tokens(n) for n in (0, 999, 12_345, 2_500_000)] == ["0", "999", "12.3k", "2.5M"]
    assert [fmt_cost(c) for c in (None, 0.0, 0.0042, 0.0412, 12.5)] == ["price unknown", "$0", "$0.0042", "$0.04",
                                                                         "$12.50"]
    assert usage_line(PRICED) == "LLM: 12.3k tokens, $0.04 (openai/gpt-4o-mini, 5 calls)"
    assert short_usage(PRICED) == "12.3k tok · $0.04"
    assert short_usage({**PRICED, "cost_usd": None}) == "12.3k tok"
    assert not used(None) and not used({"calls": 0}) and used(PRICED)
    both = add([PRICED, {"model": "ollama/llama3.1", "prompt_tokens": 100, "completion_tokens": 0, "cost_usd": None,
                         "calls": 1}, {"calls": 0}])
    assert both["calls"] == 6 and both["cost_usd"] == 0.0412 and both["model"] == "openai/gpt-4o-mini, ollama/llama3.1"


def _recorded() -> list[ev.Event]:
    return [ev.SessionStarted(session_id="s1", target="train.py", branch="aft/s1", ts=1.0),
            ev.UserMessage(text="hi", ts=2.0),
            ev.AssistantMessage(text="hello", message_id="m1", final=True, ts=3.0),
            ev.LLMUsage(**PRICED, ts=3.0),
            ev.SessionEnded(session_id="s1", reason="quit", ts=4.0)]


def test_replay_and_transcript_show_the_spending_without_a_model():
    view = SessionView()
    for event in _recorded():
        view.apply(event)
    assert view.status_fields()["llm"] == "12.3k tok · $0.04"
    out = io.StringIO()
    print_transcript(_recorded(), Console(file=out, width=120, color_system=None))
    lines = out.getvalue().splitlines()
    assert lines[-2] == "LLM: 12.3k tokens, $0.04 (openai/gpt-4o-mini, 5 calls)" and lines[-1].startswith("Session ended")


async def test_replay_status_bar_shows_the_spending():
    app = AftApp(replay=ReplayController(_recorded()), autoplay=False, save_setting=lambda k, v: None)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("dollar_sign")
        await pilot.pause()
        assert "llm 12.3k tok · $0.04" in shown(app.status)


async def test_totals_survive_a_model_switch_and_a_resume(make_engine, server, project):
    engine = make_engine(model=MODEL, api_base=server.url)
    await engine.start()
    seen: list[ev.LLMUsage] = []
    engine.subscribe(lambda e: seen.append(e) if isinstance(e, ev.LLMUsage) else None)
    router = CommandRouter(engine, SessionView(), save_setting=lambda k, v: None)
    server.script(text("first answer"), text("second answer"), text("third answer"))
    assert (await router.run("hello")).text == "first answer"
    assert "offline one" in (await router.run("/model offline")).text
    await router.run("how is it going?")  # the offline brain: free, not counted
    await router.run(f"/model {MODEL}")
    assert (await router.run("and now?")).text == "second answer"
    assert [u.calls for u in seen] == [1, 2] and seen[-1].prompt_tokens == 22 and seen[-1].completion_tokens == 14
    shown_model = await router.run("/model")
    assert f"LLM: 36 tokens, price unknown ({MODEL}, 2 calls) so far in this session." in shown_model.text
    engine.close("paused")

    saved = json.loads(state_path(engine.state_dir, engine.session_id).read_text())
    assert saved["notes"]["llm_usage"]["calls"] == 2 and "sk-" not in json.dumps(saved)
    resumed = Engine.open(None, Settings(), session_id=engine.session_id, resume=True, project=project)
    await resumed.start()
    try:
        assert resumed.settings.model == MODEL and resumed.settings.api_base == server.url
        assert await resumed.chat("still there?") == "third answer"
        assert resumed.llm_usage["calls"] == 3 and resumed.llm_usage["prompt_tokens"] == 33
    finally:
        resumed.close("done")

    # `aft runs` reads the state; a session recorded without it falls back to the log's last llm_usage line.
    assert session_usage(engine.state_dir, engine.session_id)["calls"] == 3
    saved = json.loads(state_path(engine.state_dir, engine.session_id).read_text())
    saved["notes"].pop("llm_usage")
    state_path(engine.state_dir, engine.session_id).write_text(json.dumps(saved))
    assert session_usage(engine.state_dir, engine.session_id)["calls"] == 3
    assert log_path(engine.state_dir, engine.session_id).read_text().count('"kind": "llm_usage"') == 3
