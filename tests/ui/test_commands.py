"""The slash-command router: parsing, completion, read-only replay, and commands against a real engine."""

from __future__ import annotations

import asyncio

import pytest

from aft_tui.engine import events as ev
from aft_tui.slash_commands import COMMANDS, help_text, parse
from aft_tui.ui.commands import CommandRouter
from aft_tui.errors import UserError
from aft_tui.ui.session_view import SessionView
from aft_tui.ui.replay import ReplayController, load_events


def test_parse_options_arguments_and_aliases():
    p = parse("/tune --trials 3")
    assert p.spec.name == "tune" and p.options == {"trials": "3"}
    assert parse("/tune --trials=5").options == {"trials": "5"}
    assert parse("/finetune").spec.name == "tune"
    p = parse("/compare 1 3")
    assert p.spec.name == "compare" and p.args == ["1", "3"]
    assert parse('/reject p1 "too risky for now"').args == ["p1", "too risky for now"]
    assert parse("/EXIT").spec.name == "quit"


@pytest.mark.parametrize("line, fragment", [
    ("/tnue", "Unknown command /tnue (did you mean /tune?)"),
    ("/tune --trails 3", "/tune has no option --trails"),
    ("/tune --trials", "--trials needs a value"),
    ('/reject "open', "check the quotes"),
    ("/", "Type a command after '/'"),
    ("tune", "Commands start with '/'"),
])
def test_bad_commands_are_one_clear_sentence(line, fragment):
    with pytest.raises(UserError) as info:
        parse(line)
    assert fragment in info.value.message


def test_help_lists_every_command():
    text = help_text()
    for spec in COMMANDS:
        assert spec.usage in text
    for name in ("/refactor", "/repair", "/finetune", "/pipeline", "/status", "/quit", "/tune", "/runs", "/compare",
                 "/rollback", "/diff", "/theme", "/model", "/help"):
        assert name in text


def _replay_router(session_file) -> CommandRouter:
    controller = ReplayController(load_events(session_file))
    controller.seek(controller.total)
    return CommandRouter(None, controller.view, themes=["dark", "light"], save_setting=lambda k, v: None)


def test_completion_of_commands_and_arguments(session_file):
    router = _replay_router(session_file)
    assert router.complete("/th") == ["/theme"]
    assert router.complete("/theme l") == ["/theme light"]
    assert router.complete("hello") == []
    # A replay only offers what it can do.
    assert "/tune" not in router.complete("/")
    assert "/runs" in router.complete("/r")
    live = CommandRouter(object(), SessionView(), save_setting=lambda k, v: None)
    assert live.complete("/ro") == ["/rollback"]
    assert "/finetune" in live.complete("/f")


async def test_replay_router_is_read_only(session_file):
    router = _replay_router(session_file)
    result = await router.run("/tune")
    assert result.kind == "error" and "not available in a replay" in result.text
    result = await router.run("what should I try next?")
    assert result.kind == "error" and "replay" in result.text
    result = await router.run("/runs")
    assert result.kind == "runs" and len(result.data) == 3
    assert "val_acc=0.915" in result.text
    status = await router.run("/status")
    assert status.data["best"].startswith("val_acc=0.915")
    diff = await router.run("/diff")
    assert diff.kind == "diff" and diff.data.proposal.proposal_id == "p2"
    assert router.decide(None, True).kind == "error"


async def test_theme_is_checked_and_remembered(session_file):
    saved = {}
    router = CommandRouter(None, SessionView(), themes=["dark", "light"], save_setting=saved.__setitem__)
    bad = await router.run("/theme neon")
    assert bad.kind == "error" and "available themes: dark, light" in bad.text
    good = await router.run("/theme light")
    assert good.kind == "theme" and good.data == "light" and saved == {"theme": "light"}


async def test_commands_against_a_real_engine(engine):
    await engine.start()
    view = SessionView()
    engine.subscribe(view.apply)
    saved = {}
    router = CommandRouter(engine, view, save_setting=saved.__setitem__)

    assert (await router.run("/tune --trials 0")).text.startswith("--trials must be at least 1")
    assert "whole number" in (await router.run("/tune --trials many")).text
    assert (await router.run("/rollback")).kind == "error"
    assert "No trial '7'" in (await router.run("/rollback 7")).text
    assert (await router.run("/approve")).text == "There is no proposal waiting for a decision."
    assert (await router.run("/stop")).text == "Nothing is running."

    # A proposal decided through the router, by id and by default.
    task = asyncio.create_task(engine.propose(ev.Proposal(proposal_kind="params", title="t", diff="")))
    await asyncio.sleep(0)
    assert router.complete("/approve ") == ["/approve p1"]
    result = await router.run("/reject p1 the range is too wide")
    assert result.kind == "decided"
    decision = await task
    assert not decision.approved and decision.feedback == "the range is too wide"

    # /model switches the assistant and remembers it.
    result = await router.run("/model ollama/llama3")
    assert engine.settings.model == "ollama/llama3" and saved["model"] == "ollama/llama3"
    await router.run("/model offline")
    assert engine.settings.model is None

    # Workflow steps are one at a time; a real tune runs and summarises.
    first = asyncio.create_task(router.run("/tune --trials 2"))
    await asyncio.sleep(0.05)
    busy = await router.run("/tune")
    assert busy.kind == "error" and "still running" in busy.text
    done = await first
    assert done.kind == "done" and "2 trial(s)" in done.text, done.text
    runs = await router.run("/runs")
    assert [r["number"] for r in runs.data] == [1, 2]
    compare = await router.run("/compare 1 2")
    assert compare.kind == "compare" and "lr" in compare.text
    rollback = await router.run("/rollback 1")
    assert rollback.kind == "text" and "new commit" in rollback.text
    status = await router.run("/status")
    assert status.data["trial"] == "2/2"
    assert (await router.run("/quit")).kind == "quit"


async def test_missing_workflow_step_is_reported(engine):
    class NoPipeline:
        def __getattr__(self, name):
            if name == "pipeline":
                raise AttributeError(name)
            return getattr(engine, name)

    router = CommandRouter(NoPipeline(), SessionView(), save_setting=lambda k, v: None)
    result = await router.run("/pipeline")
    assert result.kind == "error" and "no /pipeline step" in result.text


async def test_free_text_goes_to_the_brain(engine):
    class EchoBrain:
        async def chat(self, text, context, on_chunk, engine):
            on_chunk("You said: ")
            on_chunk(text)
            return f"You said: {text}"

    await engine.start()
    engine._brain = EchoBrain()
    view = SessionView()
    engine.subscribe(view.apply)
    router = CommandRouter(engine, view, save_setting=lambda k, v: None)
    result = await router.run("make it faster")
    assert result.kind == "chat" and result.text == "You said: make it faster"
    roles = [(m.role, m.text) for m in view.messages if m.role in ("user", "assistant")]
    assert roles == [("user", "make it faster"), ("assistant", "You said: make it faster")]


async def test_research_report_reads_the_latest_session_and_unknown_words_start_nothing(engine):
    await engine.start()
    view = SessionView()
    engine.subscribe(view.apply)
    router = CommandRouter(engine, view, save_setting=lambda k, v: None)
    assert not router.is_workflow("/research report") and router.is_workflow("/research --experiments 2")
    none_yet = await router.run("/research report")
    assert none_yet.kind == "error" and none_yet.text == "No research session in this project yet; start one with /research."
    unknown = await router.run("/research reprot")
    assert unknown.kind == "error" and "/research has no 'reprot'" in unknown.text and "report" in unknown.text
    assert not (engine.info.project / "outputs" / "research").exists()     # nothing was started

    done = await router.run("/research --experiments 2")
    assert done.kind == "done" and "2 experiment(s)" in done.text and "Report: /research report" in done.text, done.text
    shown = await router.run("/research report")
    assert shown.kind == "text" and "Wrote " in shown.text and "report.md" in shown.text, shown.text
    (folder,) = (engine.info.project / "outputs" / "research").iterdir()
    assert (folder / "report.md").is_file() and str(folder / "report.md") in shown.text
