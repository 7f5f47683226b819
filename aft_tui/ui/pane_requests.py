"""What the panes ask of the app (a mixin of `AftApp`): a decision or an edit of a proposal from
the Diff pane, a rollback, a comparison or a trial's log from the Runs and Logs panes.

Each request becomes a command for the router or a background load, so no pane runs anything itself.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, TYPE_CHECKING

from textual.app import SuspendNotSupported

from aft_tui.ui.widgets.diff_pane import DiffPane
from aft_tui.ui.widgets.log_pane import LogPane
from aft_tui.ui.widgets.runs_pane import RunsPane

if TYPE_CHECKING:
    from aft_tui.engine.engine import Engine


class PaneRequests:
    engine: Engine
    replay: Any
    router: Any
    view: Any
    active_pane: str

    # -- proposals -----------------------------------------------------------------------------------------
    def on_diff_pane_decided(self, message: DiffPane.Decided) -> None:
        result = self.router.decide(message.proposal_id, message.approved, message.feedback)
        if not result.ok:
            self.conversation.show_result("error", result.text)
            self.notify(result.text, severity="error")
        else:
            self.call_after_refresh(self._after_decision)

    def _after_decision(self) -> None:
        """Once nothing waits for a decision, hand the keyboard back to the conversation."""
        if not self.leaving and not self.view.pending() and self.active_pane == "diff" and not self.compact:
            self.action_show("conversation")

    def on_diff_pane_edit_requested(self, message: DiffPane.EditRequested) -> None:
        result = self.router.edit(message.proposal_id)
        if result.kind == "error":
            self.notify(result.text, severity="error")
        elif result.kind == "text":
            self.notify(result.text)
        else:
            self.call_after_refresh(self._after_decision)

    def _edit_in_terminal(self, text: str, name: str) -> str:
        """The router's editor: the app gives the terminal to $EDITOR and takes it back after."""
        from aft_tui.ui.editor import edit_text

        try:
            with self.suspend():
                return edit_text(text, name)
        except SuspendNotSupported:  # no real terminal (tests, web): the editor runs without one
            return edit_text(text, name)

    # -- runs and logs -------------------------------------------------------------------------------------
    def on_runs_pane_rollback_requested(self, message: RunsPane.RollbackRequested) -> None:
        self.submit(f"/rollback {message.number}")

    def on_runs_pane_compare_requested(self, message: RunsPane.CompareRequested) -> None:
        self.submit(f"/compare {message.a} {message.b}")
        self.action_show("conversation")

    def on_runs_pane_logs_requested(self, message: RunsPane.LogsRequested) -> None:
        newest = self.view.newest_run()
        self.logs.pinned = message.run_id != newest
        self.run_worker(self._load_log(message.run_id), group="logs", exclusive=True)
        self.action_show("logs")

    def on_log_pane_trial_requested(self, message: LogPane.TrialRequested) -> None:
        self.run_worker(self._load_log(message.run_id), group="logs", exclusive=True)

    async def _load_log(self, run_id: str) -> None:
        from aft_tui.ui.logtail import tail_lines

        view = self.view
        row = view.trials.get(run_id)
        lines = list(view.logs.get(run_id, ()))
        note = "as recorded" if self.replay is not None else ""
        received = view.log_lines_seen.get(run_id)
        if self.engine is not None:
            path = Path(self.engine.outputs.log_path(run_id))
            if path.is_file():
                lines, truncated = await asyncio.to_thread(tail_lines, path, self.logs.max_lines)
                note = f"{'end of ' if truncated else ''}{path.name}"
                received = None if truncated else len(lines)
        if self.leaving:
            return
        self.logs.show_run(run_id, lines, status=row.status if row else "", note=note,
                           received=received if received is not None else len(lines))
