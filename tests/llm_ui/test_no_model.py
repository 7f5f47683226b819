"""With no model configured every command still works, in the TUI and in plain mode, and the
chat says how to configure one."""

from __future__ import annotations

import io

from rich.console import Console
from textual.widgets import Markdown

from aft_tui.ui.app import AftApp
from aft_tui.ui.plain import repl
from aft_tui.ui.screens.help import HelpScreen
from tests.llm_ui.conftest import shown, type_line, wait_for

HOW_TO_CONFIGURE = "Set --model (e.g. openai/gpt-4o-mini or ollama/llama3.1) and the provider's key in the environment"


def _conversation_text(app: AftApp) -> str:
    return "\n".join(shown(w) for w in app.conversation.scrollback.children)


async def test_tui_without_a_model(make_engine, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    engine = make_engine()
    assert engine.settings.model is None
    app = AftApp(engine, save_setting=lambda k, v: None)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: "Assistant: offline" in _conversation_text(app), what="the start message")
        assert "/model NAME" in _conversation_text(app)

        await type_line(pilot, app, "why does the loss go up at the end?")
        await wait_for(pilot, lambda: any(HOW_TO_CONFIGURE in shown(w) for w in app.query(Markdown)),
                       what="the offline answer")

        async def run(line: str, expect: str, timeout: float = 20.0) -> None:
            await type_line(pilot, app, line)
            await wait_for(pilot, lambda: expect in _conversation_text(app) and app.router.active is None,
                           timeout=timeout, what=f"{line} to answer '{expect}'")

        await run("/model", "Assistant model: none: the offline assistant answers")
        await run("/status", "assistant: offline (built-in)")
        await run("/runs", "No trials yet; type /tune to start.")
        await run("/diff", "No proposal yet in this session.")
        await run("/approve", "There is no proposal waiting for a decision.")
        await run("/stop", "Nothing is running.")
        await run("/refactor", "no refactor needed")
        await run("/repair", "Nothing to repair")
        await run("/tune --trials 2", "/tune finished: 2 trial(s)")
        await run("/pipeline --trials 1", "/pipeline finished")
        await run("/compare 1 2", "Comparing ")
        await run("/rollback 1", "The branch now holds trial 1's state")
        await run("try 5 trials", "Set trials=5.")
        await run("/theme light", "Theme set to light")
        assert app.theme == "aft-light" or "light" in app.theme
        await type_line(pilot, app, "/help")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="the help screen")
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, HelpScreen), what="the help screen to close")
        assert "llm" not in app.view.status_fields()  # nothing was spent
        assert engine.llm_usage["calls"] == 0
        await type_line(pilot, app, "/quit")
        await wait_for(pilot, lambda: not app.is_running, what="the app to quit")
    assert [r["status"] for r in engine.runs()][:2] == ["ok", "ok"]


async def test_plain_without_a_model(make_engine, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    engine = make_engine()
    out = io.StringIO()
    console = Console(file=out, width=160, color_system=None)
    lines = ["hello, can you explain the curves?", "/model", "/help", "/status", "/runs", "/diff", "/tune --trials 1",
             "/runs", "/rollback 1", "what commands are there?", "/quit"]
    code = await repl(engine, console, interactive=False, lines=lines)
    text = out.getvalue()
    assert code == 0
    assert "Assistant: offline (no model configured)" in text and "/model NAME" in text
    assert "For free-form questions, configure a model: " + HOW_TO_CONFIGURE in text
    assert "Assistant model: none: the offline assistant answers" in text
    assert "/rollback TRIAL" in text  # /help
    assert "assistant: offline (built-in)" in text
    assert "No trials yet; type /tune to start." in text and "No proposal yet in this session." in text
    assert "/tune finished: 1 trial(s)" in text and "The branch now holds trial 1's state" in text
    assert "LLM:" not in text
