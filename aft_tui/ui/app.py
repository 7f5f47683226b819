"""`aft chat` and `aft replay`: the Textual app, a view of the engine's event stream.

The app owns no workflow logic. Engine events arrive as `EngineEvent` messages, are folded
into a `SessionView`, and each pane redraws from that view. What the person types goes to
the `CommandRouter`; keys in the panes post messages that end up there too. Replay drives
the very same path from a recorded session, with no engine at all.

Layout: a grid of all panes on large terminals, one pane at a time behind tabs on small
ones (below `COMPACT_WIDTH` x `COMPACT_HEIGHT`), decided on every resize.

Leaving: from the moment the app starts to exit (`leaving`), engine events and the ends of
background work are dropped instead of drawn, since the panes are being taken down; the
session log has every event regardless.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Callable, TYPE_CHECKING

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Container
from textual.widgets import Footer

from aft_tui.engine import events as ev
from aft_tui.ui.commands import CommandResult, CommandRouter
from aft_tui.errors import UserError
from aft_tui.ui.messages import EngineEvent
from aft_tui.ui.pane_layout import PANES, PaneLayout
from aft_tui.ui.pane_requests import PaneRequests
from aft_tui.ui.proposal_text import editable
from aft_tui.ui.replay import ReplayController
from aft_tui.ui.replay_controls import REPLAY_ACTIONS, REPLAY_BINDINGS, ReplayControls
from aft_tui.ui.screens.help import HelpScreen, binding_rows
from aft_tui.ui.session_view import SessionView
from aft_tui.ui.theme_switching import ThemeSwitching
from aft_tui.ui.themes import DEFAULT_THEME, load_themes
from aft_tui.ui.widgets.command_input import CommandInput
from aft_tui.ui.widgets.conversation import ConversationPane
from aft_tui.ui.widgets.diff_pane import DiffPane
from aft_tui.ui.widgets.gpu_pane import GpuPane
from aft_tui.ui.widgets.log_pane import LogPane
from aft_tui.ui.widgets.runs_pane import RunsPane
from aft_tui.ui.widgets.status_bar import StatusBar

if TYPE_CHECKING:
    from aft_tui.engine.engine import Engine


WIDE_ENOUGH_FOR_TOAST = 120
"""Columns from which a proposal's toast sits beside the diff instead of over it."""


class AftApp(ReplayControls, PaneLayout, PaneRequests, ThemeSwitching, App[int]):
    """The app itself: composition, start and exit, engine events, commands and the global keys;
    pane layout, pane requests, themes and replay keys live in its mixins."""

    CSS_PATH = Path(__file__).with_name("app.tcss")  # absolute: subclasses live elsewhere
    TITLE = "AFT"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", priority=True),
        Binding("f1", "help", "Help"),
        Binding("f2", "show(\'conversation\')", "Chat", show=False),
        Binding("f3", "show(\'diff\')", "Diff", show=False),
        Binding("f4", "show(\'logs\')", "Logs", show=False),
        Binding("f5", "show(\'gpu\')", "GPU", show=False),
        Binding("f6", "show(\'runs\')", "Runs", show=False),
        Binding("alt+1", "show('conversation')", "Chat", show=False),
        Binding("alt+2", "show('diff')", "Diff", show=False),
        Binding("alt+3", "show('logs')", "Logs", show=False),
        Binding("alt+4", "show('gpu')", "GPU", show=False),
        Binding("alt+5", "show('runs')", "Runs", show=False),
        Binding("ctrl+t", "cycle_theme", "Theme"),
        Binding("ctrl+k", "stop", "Stop trials"),
        *REPLAY_BINDINGS,
    ]

    def __init__(
        self,
        engine: Engine = None,
        *,
        replay: ReplayController | None = None,
        sampler: Any = None,
        start_sampler: Callable[[], Any] | None = None,
        theme_name: str | None = None,
        autoplay: bool = True,
        history: list[str] | None = None,
        remember: Callable[[str], None] | None = None,
        save_setting: Callable[[str, Any], None] | None = None,
        gpu_note: str = "",
        log_max_lines: int = 5000,
        earlier: list[ev.Event] | None = None,
    ) -> None:
        super().__init__()
        self.engine = engine
        self.replay = replay
        self.sampler = sampler
        # Telemetry started by the app itself once the first screen is drawn (the app stops it).
        self._start_sampler_later = start_sampler if sampler is None else None
        self._own_sampler = False
        self.read_only = engine is None
        self.view: SessionView = replay.view if replay is not None else SessionView()
        self.theme_specs, self._theme_problems = load_themes()
        self._wanted_theme = theme_name or DEFAULT_THEME
        self.router = CommandRouter(engine, self.view, themes=list(self.theme_specs), save_setting=save_setting,
                                    editor=self._edit_in_terminal)
        self._autoplay = autoplay
        self._history = history
        self._remember = remember
        self._gpu_note = gpu_note or ("GPU readings are live only; a replay shows none." if replay is not None
                                      else "Starting telemetry…" if self._start_sampler_later is not None
                                      else "Telemetry is off.")
        self._log_max_lines = log_max_lines
        # A resumed session shows what happened before (its recorded events) before the new ones.
        for event in earlier or ():
            self.view.apply(event)
        self.active_pane = "conversation"
        # The theme is chosen before anything is mounted: set later, it would restyle every widget once more.
        for spec in self.theme_specs.values():
            self.register_theme(spec.theme)
        self._select_theme(self._wanted_theme)
        self._unsubscribe: Callable[[], None] | None = None
        self._tick_timer: Any = None
        self._leaving = False
        self.exit_code = 0

    # -- composition ---------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        if self._is_compact(self.size):  # the tabs exist only once the terminal is small
            yield self._pane_tabs()
        with Container(id="panes"):
            yield ConversationPane(self.router.complete, self._history, self._remember, read_only=self.read_only,
                                   id="conversation", classes="pane")
            yield DiffPane(self._syntax_theme(), read_only=self.read_only, id="diff", classes="pane")
            yield GpuPane(self.sampler, note=self._gpu_note, id="gpu", classes="pane")
            yield LogPane(max_lines=self._log_max_lines, id="logs", classes="pane")
            yield RunsPane(read_only=self.read_only, id="runs", classes="pane")
        yield StatusBar(id="status")
        yield Footer()

    def on_mount(self) -> None:
        for problem in self._theme_problems:
            self.notify(problem, severity="warning")
        for name, label, key in PANES:
            self.query_one(f"#{name}").border_title = f"{label} · {key.upper()}"
        self._apply_layout()
        self.action_show("conversation")
        if self.engine is not None:
            if self.view.events_applied:
                self.rebuild()
            self._unsubscribe = self.engine.subscribe(self._on_engine_emit)
            self.run_worker(self._start_engine(), name="start", group="engine", exit_on_error=False)
        if self.replay is not None:
            self.rebuild()
            if self._autoplay:
                self.replay.playing = True
                self._schedule_tick(0.0)
        if self._start_sampler_later is not None:
            self.call_after_refresh(self._attach_sampler)
        self.sync_status()

    def _attach_sampler(self) -> None:
        """Start telemetry after the first screen: its import and first reading are not worth waiting for."""
        starter, self._start_sampler_later = self._start_sampler_later, None
        if starter is None or self.leaving:
            return
        sampler = starter()
        if sampler is None:
            self.gpu.attach(None, "Telemetry is off.")
            return
        self.sampler, self._own_sampler = sampler, True
        self.gpu.attach(sampler)

    def on_unmount(self) -> None:
        self._leaving = True
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._own_sampler and self.sampler is not None:
            self.sampler.stop()

    def exit(self, *args: Any, **kwargs: Any) -> None:
        self._leaving = True
        super().exit(*args, **kwargs)

    @property
    def leaving(self) -> bool:
        """True once the app has started to close (or stopped running): nothing more is drawn."""
        return self._leaving or not self.is_running

    async def _start_engine(self) -> None:
        try:
            await self.engine.start()
        except UserError as exc:
            if not self.leaving:
                self.conversation.show_result("error", exc.chat_message)
            return
        if self.leaving:
            return
        from aft_tui.brain.offline import assistant_note  # its imports (the tuning space) are not needed sooner

        self.conversation.show_result("text", "Type /pipeline to refactor and tune, /tune to tune a script that "
                                              "already takes flags, or /help. F1 lists every key.\n"
                                              + assistant_note(self.engine.settings))

    # -- engine events --------------------------------------------------------------------------------
    def _on_engine_emit(self, event: ev.Event) -> None:
        """The engine's subscriber: hand the event to the app's queue from whichever thread emitted it.

        Posting is thread-safe and never waits, so an engine thread is not held up by the app,
        nor left waiting on an app that has closed.
        """
        if self.leaving:
            return
        try:
            self.post_message(EngineEvent(event))
        except RuntimeError:  # the app's loop closed while the event was on its way
            pass

    def on_engine_event(self, message: EngineEvent) -> None:
        if self.leaving:
            return
        self.view.apply(message.event)
        self.render_event(message.event)

    def render_event(self, event: ev.Event) -> None:
        """Redraw what `event` changed (the view already holds it)."""
        if self.leaving:
            return
        kind = event.kind
        view = self.view
        if kind == "trial_log":
            self.logs.feed(event.run_id, event.lines)
            return
        if kind == "trial_metric":
            self.runs.mark_stale(view)
            return
        self.conversation.sync(view)
        if kind in ("proposal", "decision"):
            self.diff.sync(view)
            if kind == "proposal" and not self.read_only:
                self.call_after_refresh(self._review, event.proposal_id)
        if kind in ("trial_started", "trial_finished", "best_updated", "tune_progress", "session_started", "rollback"):
            self.runs.sync(view)
        if kind == "trial_started":
            self.logs.trial_started(event.run_id)
            self._sync_gpu_assignments()
        elif kind == "trial_finished":
            self.logs.trial_finished(event.run_id, event.status)
            self._sync_gpu_assignments()
        self.sync_status()

    def _review(self, proposal_id: str) -> None:
        """Bring a proposal that still waits for a decision in front of the person."""
        state = self.view.proposals.get(proposal_id)
        if state is not None and state.pending and not self.leaving:
            self.action_show("diff")
            if self.size.width >= WIDE_ENOUGH_FOR_TOAST:  # narrower, it would cover the diff; the footer has the keys
                keys = "a approve · r reject · f reject with reason" + (" · e edit" if editable(state.proposal) else "")
                self.notify(f"Proposal {proposal_id} is waiting: {keys}", timeout=6)

    def _sync_gpu_assignments(self) -> None:
        assignments: dict[int, list[str]] = {}
        for row in self.view.running():
            for gpu in row.gpus:
                assignments.setdefault(gpu, []).append(row.run_id)
        if assignments != self.gpu.assignments:
            self.gpu.assignments = assignments
            if self.gpu.sampler is not None:
                self.gpu.poll()

    def sync_status(self) -> None:
        if self.leaving:
            return
        prefix = self.replay.describe() if self.replay is not None else ""
        busy = f"/{self.router.active}" if self.router.active else ""
        self.status.sync(self.view, prefix, busy)

    def rebuild(self) -> None:
        """Redraw every pane from the session view (after a replay seek)."""
        if self.leaving:
            return
        view = self.view
        self.conversation.reset()
        self.conversation.sync(view)
        self.diff.sync(view)
        self.runs.reset()
        self.runs.sync(view)
        self.logs.reset()
        self.logs.set_runs([r.run_id for r in view.rows()])
        newest = view.newest_run()
        if newest:
            row = view.trials[newest]
            self.logs.show_run(newest, list(view.logs.get(newest, ())), status=row.status, note="as recorded",
                               received=view.log_lines_seen.get(newest))
        self._sync_gpu_assignments()
        self.sync_status()

    # -- commands ------------------------------------------------------------------------------------------
    def on_command_input_command(self, message: CommandInput.Command) -> None:
        self.submit(message.text)

    def submit(self, line: str) -> None:
        """Run a line as if typed: long steps in the background, the rest at once."""
        self.conversation.show_command(line)
        group = "workflow" if self.router.is_workflow(line) else "commands"
        self.run_worker(self._run_line(line), group=group, exit_on_error=False)

    async def _run_line(self, line: str) -> CommandResult:
        try:
            if self.router.is_workflow(line) and line.startswith("/"):
                self.call_after_refresh(self.sync_status)
            result = await self.router.run(line)
        except Exception as exc:  # an engine bug must not take the UI down; the session log keeps the event
            result = CommandResult("error", f"{line.split()[0]} failed: {exc}")
        if self.leaving:
            return result
        await self.show_result(result)
        self.sync_status()
        return result

    async def show_result(self, result: CommandResult) -> None:
        kind = result.kind
        if kind == "quit":
            await self.action_quit()
            return
        if kind == "help":
            self.action_help()
            return
        if kind == "theme":
            self.apply_theme(result.data)
        elif kind == "runs":
            self.action_show("runs")
        elif kind == "diff":
            self.action_show("diff")
        if kind in ("chat", "decided"):
            return  # the engine's events already show these
        self.conversation.show_result(kind, result.text)
        if kind == "error":
            self.bell()

    # -- other keys ----------------------------------------------------------------------------------------------
    def action_help(self) -> None:
        usable = [b for b in self.BINDINGS if self.check_action(b.action.split("(")[0], ()) is not False]
        sections = [("Everywhere", binding_rows([b for b in usable if not b.action.startswith("replay")]))]
        if self.replay is not None:
            sections.append(("Replay", binding_rows([b for b in self.BINDINGS if b.action.startswith("replay")])
                             + [("0 / $", "Jump to start / end")]))
        sections += [
            ("Input line", [("Enter", "run the command or send the text"), ("Tab", "complete the command"),
                            ("→", "accept the grey suggestion"), ("↑ / ↓", "history")]),
            ("Diff pane", binding_rows(DiffPane.BINDINGS)),
            ("Logs pane", binding_rows(LogPane.BINDINGS)),
            ("Runs pane", binding_rows(RunsPane.BINDINGS) + [("Enter", "Show the trial's log")]),
        ]
        self.push_screen(HelpScreen(sections, read_only=self.read_only))

    def action_stop(self) -> None:
        if self.engine is None or self.router.active is None:
            self.notify("Nothing is running.")
            return
        self.submit("/stop")

    async def action_quit(self) -> None:
        if self.engine is not None and self.router.active is not None:
            self.engine.request_stop()
            self.notify("Stopping the running trials before leaving…")
            running = [w for w in self.workers if w.group == "workflow" and not w.is_finished]
            try:
                await asyncio.wait_for(self.workers.wait_for_complete(running), timeout=20)
            except asyncio.TimeoutError:
                pass
        self.exit(self.exit_code)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in REPLAY_ACTIONS:
            return self.replay is not None
        if action == "stop":
            return self.engine is not None
        return True
