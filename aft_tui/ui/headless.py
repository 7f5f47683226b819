"""The headless view: prints engine events as plain lines plus a rich progress bar.

Used by `aft tune`, `aft pipeline` and friends when no TUI is running. It only renders;
every decision is the engine's.
"""

from __future__ import annotations

import sys
from typing import Any, TYPE_CHECKING

from aft_tui.engine import events as ev
from aft_tui.formatting import fmt_params, fmt_value
from aft_tui.ui.terminal_text import inert

if TYPE_CHECKING:
    from aft_tui.engine.engine import Engine

# Past this many characters a message is printed without Rich's word wrap (see HeadlessView.print).
LONG_TEXT = 10_000


class HeadlessView:
    def __init__(self, console: Any = None, show_logs: bool = False, progress: bool = True) -> None:
        from rich.console import Console

        self.console = console or Console(stderr=False, highlight=False)
        self.show_logs = show_logs
        self.total = 0
        self.done = 0
        self.best: float | None = None
        self.metric = ""
        self._durations: list[float] = []
        self._progress = None
        self._task = None
        self._use_progress = progress and self.console.is_terminal

    def __call__(self, event: ev.Event) -> None:
        handler = getattr(self, f"on_{event.kind}", None)
        if handler is not None:
            handler(event)

    def print(self, text: str, style: str | None = None) -> None:
        """Print one message as plain text: no markup, no escape sequences from a script or a recording."""
        text = inert(text)
        target = self._progress.console if self._progress is not None else self.console
        # Rich's word wrap takes time quadratic in a line's length (a 2 MB line: seconds); a line
        # that long is left for the terminal to wrap.
        target.print(text, style=style, highlight=False, markup=False, soft_wrap=len(text) > LONG_TEXT)

    # -- events ---------------------------------------------------------------------
    def on_session_started(self, e: ev.SessionStarted) -> None:
        verb = "Resumed" if e.resumed else "Started"
        self.print(f"{verb} session {e.session_id} on {e.target} (branch {e.branch}).", "bold")

    def on_info(self, e: ev.Info) -> None:
        self.print(e.text, "cyan")

    def on_assistant_message(self, e: ev.AssistantMessage) -> None:
        if e.final:
            self.print(e.text)

    def on_error(self, e: ev.ErrorEvent) -> None:
        self.print(f"Error: {e.message}", "red")

    def on_proposal(self, e: ev.Proposal) -> None:
        from aft_tui.ui.proposal_text import what_will_run

        self.print(f"Proposal {e.proposal_id} ({e.proposal_kind}): {e.title}", "bold")
        if e.rationale:
            self.print(e.rationale)
        summary = what_will_run(e)
        if summary:
            self.print(summary)
        if e.diff:
            from rich.syntax import Syntax

            target = self._progress.console if self._progress is not None else self.console
            target.print(Syntax(inert(e.diff), "diff", theme="ansi_dark", background_color="default"))

    def on_decision(self, e: ev.Decision) -> None:
        verdict = "approved" if e.approved else "rejected"
        extra = f" ({e.feedback})" if e.feedback else ""
        self.print(f"Proposal {e.proposal_id} {verdict}{' automatically' if e.by == 'auto' else ''}{extra}.")

    def on_commit(self, e: ev.CommitMade) -> None:
        pass

    def on_trial_started(self, e: ev.TrialStarted) -> None:
        params = fmt_params(e.params)
        self.print(f"Trial {e.number} [{e.run_id}] {params}  ({e.rationale})")
        self._ensure_progress()

    def on_trial_log(self, e: ev.TrialLog) -> None:
        if self.show_logs:
            for line in e.lines:
                self.print(f"  | {line}", "dim")

    def on_trial_finished(self, e: ev.TrialFinished) -> None:
        metric = e.result.get("metric") or self.metric
        value = f"{metric}={fmt_value(e.value)}" if e.value is not None else "no value"
        style = {"ok": "green", "pruned": "yellow"}.get(e.status, "red")
        reason = f" — {e.reason}" if e.reason else ""
        self.print(f"Trial {e.number} {e.status}: {value} in {float(e.duration):.1f}s{reason}", style)
        self._durations.append(e.duration)

    def on_best_updated(self, e: ev.BestUpdated) -> None:
        self.best = e.value
        self.metric = e.metric
        self.print(f"New best {e.metric}={fmt_value(e.value)} ({e.run_id})", "bold green")

    def on_analysis(self, e: ev.Analysis) -> None:
        for finding in e.findings:
            self.print(f"  · {finding.get('sentence', '')}", "magenta")

    def on_tune_progress(self, e: ev.TuneProgress) -> None:
        self.total, self.done = e.total, e.done
        if self._progress is not None and self._task is not None:
            best = f"best {e.metric}={fmt_value(e.best)}" if e.best is not None else "no best yet"
            self._progress.update(self._task, total=e.total, completed=e.done, description=best)

    # -- progress bar -------------------------------------------------------------------
    def _ensure_progress(self) -> None:
        if not self._use_progress or self._progress is not None:
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self._progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                  TimeRemainingColumn(), console=self.console, transient=True)
        self._progress.start()
        self._task = self._progress.add_task("tuning", total=self.total or None, completed=self.done)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def hold_progress(self) -> None:
        """Take the progress bar off the screen while a question waits for an answer (it would
        redraw over the question); the next progress event brings it back."""
        self.close()


async def _read_line(prompt: str) -> str:
    """input() in a daemon thread: a question still open when the session ends does not keep
    the process alive (a pool thread would be waited for at exit)."""
    import asyncio
    import threading

    loop = asyncio.get_running_loop()
    answer: asyncio.Future[str] = loop.create_future()

    def read() -> None:
        try:
            line = input(prompt)
        except (EOFError, OSError):
            line = ""
        try:
            loop.call_soon_threadsafe(lambda: answer.done() or answer.set_result(line))
        except RuntimeError:  # the session ended while the question was open
            pass

    threading.Thread(target=read, name="aft-approval", daemon=True).start()
    return await answer


def print_summary(console: Any, summary: dict[str, Any]) -> None:
    best = summary.get("best")
    metric = summary.get("metric")
    console.print(f"\nFinished {summary['trials']} trial(s) on branch {summary['branch']} ({summary['end_reason']}).",
                  highlight=False, markup=False)
    if best is None:
        console.print("No trial finished successfully; see the reasons above and the logs in outputs/.", style="red")
        return
    params = fmt_params(best["params"])
    console.print(inert(f"Best {metric} = {fmt_value(best['value'])} (trial {best['number']}, {best['run_id']}): {params}"),
                  style="bold green", highlight=False, markup=False)
    defaults = summary.get("defaults_value")
    if isinstance(defaults, (int, float)):
        console.print(f"Defaults gave {metric} = {fmt_value(defaults)}.", highlight=False, markup=False)
    sys.stdout.flush()


class HeadlessApprover:
    """Asks y/n/feedback on the terminal for proposals that were not auto-approved.

    Without a terminal (and without --yes) a proposal is rejected with a sentence saying how
    to approve it, instead of waiting forever.
    """

    def __init__(self, engine: Engine, view: HeadlessView) -> None:
        self.engine = engine
        self.view = view
        self._tasks: list[Any] = []
        self._asking: Any = None  # one question on the terminal at a time (research proposes ahead)

    def __call__(self, event: ev.Event) -> None:
        if isinstance(event, ev.Proposal):
            import asyncio

            self._tasks.append(asyncio.get_running_loop().create_task(self._ask(event)))

    async def _ask(self, proposal: ev.Proposal) -> None:
        import asyncio

        await asyncio.sleep(0)  # let the engine register the pending proposal first
        if proposal.proposal_id not in self.engine.pending_proposals:
            return  # auto-approved
        if not sys.stdin.isatty():
            self.engine.decide(proposal.proposal_id, False,
                               "no terminal to ask for approval; rerun with --yes or use `aft chat`")
            return
        if self._asking is None:
            self._asking = asyncio.Lock()
        async with self._asking:
            if proposal.proposal_id not in self.engine.pending_proposals:
                return  # decided elsewhere while an earlier question was open
            self.view.hold_progress()
            answer = await _read_line(f"Apply {proposal.proposal_id} ({proposal.title[:60]})? "
                                      "[y]es / [n]o / type a reason to reject: ")
        answer = answer.strip()
        if proposal.proposal_id not in self.engine.pending_proposals:
            return
        if answer.lower() in ("y", "yes"):
            self.engine.decide(proposal.proposal_id, True)
        elif answer.lower() in ("", "n", "no"):
            self.engine.decide(proposal.proposal_id, False)
        else:
            self.engine.decide(proposal.proposal_id, False, answer)

    def cancel(self) -> None:
        for task in self._tasks:
            task.cancel()
