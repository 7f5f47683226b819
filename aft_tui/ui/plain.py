"""The plain views: a prompt-toolkit REPL for `aft chat --plain`, and replay as a printed transcript.

Both print events with the headless view (rich, no full-screen UI), so they work over a slow
SSH link, in a pipe, in `script` logs and with screen readers. Commands go through the same
`CommandRouter` as the Textual app.

When stdin is not a terminal the REPL reads commands line by line and reads the next line
only when AFT needs input: once the work started by earlier lines has finished or is waiting
for a decision on a proposal. That makes `printf '/tune\\n/approve\\n' | aft chat` work.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any, Iterable, TYPE_CHECKING

from aft_tui.engine import events as ev
from aft_tui.ui.commands import CommandResult, CommandRouter
from aft_tui.ui.headless import HeadlessView
from aft_tui.ui.terminal_text import inert
from aft_tui.ui.session_view import SessionView

if TYPE_CHECKING:
    from aft_tui.engine.engine import Engine


class PlainView(HeadlessView):
    """The headless view plus what a conversation needs: the person's lines and streamed answers."""

    def __init__(self, console: Any = None, show_logs: bool = False, echo_user: bool = False) -> None:
        super().__init__(console=console, show_logs=show_logs, progress=False)
        self.echo_user = echo_user
        self.usage: dict[str, Any] | None = None
        self._streamed: set[str] = set()

    def on_user_message(self, e: ev.UserMessage) -> None:
        if self.echo_user:
            self.print(f"you> {e.text}", "bold")

    def on_assistant_message(self, e: ev.AssistantMessage) -> None:
        if not e.final:
            self._streamed.add(e.message_id)
            self.console.print(inert(e.text), end="", highlight=False, markup=False, soft_wrap=True)
            return
        if e.message_id in self._streamed:
            self._streamed.discard(e.message_id)
            self.console.print()
            return
        self.print(e.text)

    def on_rollback(self, e: ev.Rollback) -> None:
        self.print(f"Rolled back to {e.to_run}: new commit {e.sha[:10]} (history kept).", "bold")

    def on_llm_usage(self, e: ev.LLMUsage) -> None:
        self.usage = {"model": e.model, "prompt_tokens": e.prompt_tokens, "completion_tokens": e.completion_tokens,
                      "cost_usd": e.cost_usd, "calls": e.calls}

    def on_proposal(self, e: ev.Proposal) -> None:
        super().on_proposal(e)
        if self.echo_user:
            return  # a transcript: the decision follows in the record
        from aft_tui.ui.proposal_text import editable

        keys = "/approve (or y), /reject [REASON] (or n)" + (", /edit" if editable(e) else "")
        self.print(f"Waiting for your decision on {e.proposal_id}: {keys}.", "dim")

    def on_session_ended(self, e: ev.SessionEnded) -> None:
        from aft_tui.ui.usage import usage_line, used

        if used(self.usage):
            self.print(usage_line(self.usage), "dim")
        self.print(f"Session ended ({e.reason or 'ended'}).", "dim")


def print_result(console: Any, result: CommandResult) -> None:
    if not result.text or result.kind in ("chat", "decided"):
        return
    if result.kind == "runs" and result.data:
        from aft_tui.ui.tables import runs_table

        console.print(runs_table(result.data))
        return
    if result.kind == "diff" and result.data is not None:
        from rich.syntax import Syntax

        from aft_tui.ui.proposal_text import what_will_run

        p = result.data.proposal
        console.print(inert(f"Proposal {p.proposal_id} ({p.proposal_kind}, {result.data.verdict}): {p.title}"),
                      style="bold", highlight=False, markup=False)
        if p.rationale:
            console.print(inert(p.rationale), highlight=False, markup=False)
        summary = what_will_run(p)
        if summary:
            console.print(inert(summary), highlight=False, markup=False)
        if p.diff.strip():
            console.print(Syntax(inert(p.diff), "diff", theme="ansi_dark", background_color="default"))
        return
    console.print(inert(result.text), style="red" if result.kind == "error" else None, highlight=False, markup=False)


def print_transcript(events: Iterable[ev.Event], console: Any = None) -> None:
    """`aft replay --plain`: the recorded session as text, logs included (never runs anything)."""
    view = PlainView(console=console, show_logs=True, echo_user=True)
    for event in events:
        view(event)


# -- the REPL ---------------------------------------------------------------------------------------
def _completer(router: CommandRouter) -> Any:
    from prompt_toolkit.completion import Completer, Completion, PathCompleter
    from prompt_toolkit.document import Document

    class AftCompleter(Completer):
        """Commands and their arguments from the router; file paths for path-like words."""

        def __init__(self) -> None:
            self.paths = PathCompleter(expanduser=True)

        def get_completions(self, document: Document, complete_event: Any):  # type: ignore[override]
            text = document.text_before_cursor
            candidates = router.complete(text)
            for candidate in candidates:
                yield Completion(candidate, start_position=-len(text))
            if candidates:
                return
            word = document.get_word_before_cursor(WORD=True)
            if word and any(c in word for c in "/.~") and not (text.startswith("/") and " " not in text):
                sub = Document(word, len(word))
                yield from self.paths.get_completions(sub, complete_event)

    return AftCompleter()


def run_repl(engine: Engine, console: Any = None) -> int:
    return asyncio.run(repl(engine, console, interactive=sys.stdin.isatty() and sys.stdout.isatty()))


async def repl(engine: Engine, console: Any = None, interactive: bool = True, lines: Iterable[str] | None = None) -> int:
    """Run the REPL until /quit or end of input; returns the exit code."""
    from rich.console import Console

    from aft_tui.ui.themes import load_themes

    console = console or Console(highlight=False)
    state = SessionView()
    view = PlainView(console=console)
    engine.subscribe(state.apply)
    engine.subscribe(view)
    themes, _ = load_themes()
    router = CommandRouter(engine, state, themes=list(themes))
    tasks: set[asyncio.Task] = set()
    try:
        await engine.start()
    except Exception:
        engine.close("failed to start")
        raise
    from aft_tui.brain.offline import assistant_note

    console.print("Type /help for commands, /pipeline or /tune to start, /quit to leave.", style="dim")
    console.print(assistant_note(engine.settings), style="dim", highlight=False, markup=False)

    async def run_line(line: str) -> CommandResult:
        try:
            result = await router.run(line)
        except Exception as exc:  # keep the REPL alive; the session log has the engine's own error events
            result = CommandResult("error", f"{line.split()[0]} failed: {exc}")
        print_result(console, result)
        return result

    read = _line_reader(router, state, interactive, lines, engine)
    code = 0
    try:
        while True:
            line = await read()
            if line is None:
                break
            line = decision_shorthand(line.strip(), bool(state.pending()))
            if not line:
                continue
            if router.is_workflow(line):
                task = asyncio.create_task(run_line(line))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            else:
                result = await run_line(line)
                if result.kind == "quit":
                    break
            if not interactive:
                await _until_input_needed(tasks, engine)
    except (EOFError, KeyboardInterrupt):
        code = 130
    finally:
        if router.active is not None:
            engine.request_stop()
        if tasks:
            await asyncio.wait(tasks, timeout=30)
        view.close()
        engine.close("quit")
    console.print(f"Session {engine.session_id} saved; replay it with `aft replay {engine.session_id}`.", style="dim")
    return code


async def _until_input_needed(tasks: set[asyncio.Task], engine: Engine) -> None:
    """Without a terminal, the next line is read once AFT needs it: the work started by earlier lines
    (including work an approval just let go on) has finished or waits for a decision."""
    await asyncio.sleep(0.01)  # let a decision just made reach the step that waits for it
    while any(not t.done() for t in tasks) and not engine.pending_proposals:
        await asyncio.sleep(0.05)


_YES = {"y", "yes", "a", "approve", "ok"}
_NO = {"n", "no", "r", "reject"}


def decision_shorthand(line: str, pending: bool) -> str:
    """While a proposal waits, "y"/"yes" approves and "n"/"no" rejects: what people type at a prompt
    that asks for a decision (the TUI has keys for it; a line is the REPL's only way)."""
    if not pending:
        return line
    word = line.lower().rstrip(".!")
    if word in _YES:
        return "/approve"
    if word in _NO:
        return "/reject"
    return line


def _line_reader(router: CommandRouter, state: SessionView, interactive: bool, lines: Iterable[str] | None,
                 engine: Engine):
    if lines is not None:
        it = iter(lines)

        async def from_list() -> str | None:
            await asyncio.sleep(0)  # let work started by the previous line take its first step
            return next(it, None)

        return from_list
    if not interactive:
        async def from_stdin() -> str | None:
            line = await asyncio.to_thread(read_stdin_line)
            return line if line else None

        return from_stdin

    from prompt_toolkit import PromptSession
    from prompt_toolkit.history import FileHistory
    from prompt_toolkit.patch_stdout import patch_stdout

    from aft_tui.ui.history_file import history_path

    path = history_path(engine)
    path.parent.mkdir(parents=True, exist_ok=True)
    session: PromptSession = PromptSession(history=FileHistory(str(path)), completer=_completer(router),
                                           complete_while_typing=True)

    async def from_prompt() -> str | None:
        pending = state.pending()
        prefix = f"[{pending[0].proposal_id}: y/n, /edit] " if pending else ""
        with patch_stdout(raw=True):
            try:
                line = await session.prompt_async(f"{prefix}aft> ")
            except EOFError:
                return None
            return valid_text(line)

    return from_prompt


def read_stdin_line() -> str:
    """The next line of standard input ("" at its end), bytes that are not text replaced by "\ufffd".

    Piped input can hold anything (a binary file, another encoding); a line is never refused for
    it, and nothing that cannot be written back as UTF-8 reaches the session log.
    """
    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:  # stdin replaced by a text-only stream
        return valid_text(sys.stdin.readline())
    encoding = sys.stdin.encoding or "utf-8"
    return stream.readline().decode(encoding, "replace")


def valid_text(line: str) -> str:
    """`line` with undecodable bytes that came in as surrogates replaced by "\ufffd"."""
    try:
        line.encode("utf-8")
        return line
    except UnicodeEncodeError:
        pass
    try:
        return line.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:  # surrogates that stand for no byte
        return line.encode("utf-8", "replace").decode("utf-8")
