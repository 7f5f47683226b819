"""The diff pane: one proposal at a time as a highlighted unified diff with its rationale.

Proposals that run something (a tuning run, a rollback) show what will run above any diff,
and cannot be edited, only approved or rejected.

Keys decide it; the pane only posts messages (`Decided`, `EditRequested`) and the app hands
them to the command router, which tells the engine.
"""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Static

from aft_tui.ui.session_view import ProposalState, SessionView
from aft_tui.ui.proposal_text import editable, runs_something, what_will_run
from aft_tui.ui.screens.prompt import PromptScreen
from aft_tui.ui.terminal_text import inert

_DECIDING = ("approve", "reject", "feedback", "edit")


class DiffPane(Vertical, can_focus=True):
    BINDINGS = [
        Binding("a", "approve", "Approve"),
        Binding("r", "reject", "Reject"),
        Binding("f", "feedback", "Reject with reason"),
        Binding("e", "edit", "Edit in $EDITOR"),
        Binding("left_square_bracket", "move(-1)", "Previous proposal", key_display="["),
        Binding("right_square_bracket", "move(1)", "Next proposal", key_display="]"),
        Binding("down,j", "scroll(1)", "Scroll down", show=False),
        Binding("up,k", "scroll(-1)", "Scroll up", show=False),
        Binding("pagedown", "scroll(10)", "Page down", show=False),
        Binding("pageup", "scroll(-10)", "Page up", show=False),
    ]

    class Decided(Message):
        def __init__(self, proposal_id: str, approved: bool, feedback: str = "") -> None:
            super().__init__()
            self.proposal_id = proposal_id
            self.approved = approved
            self.feedback = feedback

    class EditRequested(Message):
        def __init__(self, proposal_id: str, diff: str) -> None:
            super().__init__()
            self.proposal_id = proposal_id
            self.diff = diff

    def __init__(self, syntax_theme: str = "ansi_dark", read_only: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.syntax_theme = syntax_theme
        self.read_only = read_only
        self._ids: list[str] = []
        self._states: list[ProposalState] = []
        self._index = -1
        self._state: ProposalState | None = None

    def compose(self) -> ComposeResult:
        yield Static("No proposal yet.", id="diff-title")
        yield Static("", id="diff-rationale")
        with VerticalScroll(id="diff-body", can_focus=False):
            yield Static("", id="diff-code")

    # -- drawing ---------------------------------------------------------------------------
    def sync(self, view: SessionView, jump_to_pending: bool = True) -> None:
        states = list(view.proposals.values())
        ids = list(view.proposals)  # the view's keys: unique even where a recording reused an id
        current = self._ids[self._index] if 0 <= self._index < len(self._ids) else None
        self._ids, self._states = ids, states
        pending = [i for i, s in enumerate(states) if s.pending]
        if jump_to_pending and pending and (current is None or not view.proposals[current].pending):
            self._index = pending[0]
        elif current in ids:
            self._index = ids.index(current)
        else:
            self._index = len(ids) - 1
        self._state = states[self._index] if 0 <= self._index < len(states) else None
        self._draw()
        self.refresh_bindings()

    def _draw(self) -> None:
        state = self._state
        title = self.query_one("#diff-title", Static)
        rationale = self.query_one("#diff-rationale", Static)
        code = self.query_one("#diff-code", Static)
        if state is None:
            title.update("No proposal yet.")
            rationale.update("Refactors, repairs and parameter choices appear here as diffs to approve.")
            code.update("")
            return
        p = state.proposal
        verdict = state.verdict
        style = {"pending": "bold reverse", "approved": "bold green", "approved (auto)": "green"}.get(verdict, "bold red")
        head = Text()
        head.append(f" {verdict.upper()} ", style=style)
        head.append(f"  {p.proposal_id} · {p.proposal_kind} · {self._index + 1}/{len(self._ids)}  ")
        head.append(inert(p.title), style="bold")
        title.update(head)
        why = p.rationale or ""
        if state.decision is not None and state.decision.feedback:
            why += f"\nFeedback: {state.decision.feedback}"
        rationale.update(Text(inert(why)))
        parts: list[Any] = []
        summary = what_will_run(p)
        if summary:
            heading = "What approving does" if runs_something(p) else "No file changes"
            parts.append(Text(heading, style="bold underline"))
            parts.append(Text(inert(summary)))
        if p.diff.strip():
            if parts:
                parts.append(Text("\nFiles it changes:", style="bold underline"))
            from rich.syntax import Syntax  # Pygments is imported on the first diff, not at start-up

            parts.append(Syntax(inert(p.diff), "diff", theme=self.syntax_theme, background_color="default", word_wrap=False))
        code.update(Group(*parts) if len(parts) > 1 else parts[0] if parts else Text("(no file changes)", style="dim"))
        self.query_one("#diff-body", VerticalScroll).scroll_home(animate=False)

    def set_syntax_theme(self, name: str) -> None:
        self.syntax_theme = name
        self._draw()

    @property
    def current(self) -> ProposalState | None:
        return self._state

    # -- keys ---------------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in _DECIDING:
            if self.read_only:
                return False
            if action == "edit" and self._state is not None and not editable(self._state.proposal):
                return False  # a tuning run or rollback has no diff worth editing: approve or reject it
            return True if self._state is not None and self._state.pending else None
        return True

    def action_approve(self) -> None:
        if self._state is not None and self._state.pending:
            self.post_message(self.Decided(self._state.proposal.proposal_id, True))

    def action_reject(self) -> None:
        if self._state is not None and self._state.pending:
            self.post_message(self.Decided(self._state.proposal.proposal_id, False))

    def action_feedback(self) -> None:
        if self._state is None or not self._state.pending:
            return
        pid = self._state.proposal.proposal_id

        def done(reason: str | None) -> None:
            if reason is not None:
                self.post_message(self.Decided(pid, False, reason))

        self.app.push_screen(PromptScreen(f"Why reject {pid}? (kept in the session and given to the assistant)",
                                          "e.g. keep the learning-rate schedule as it is"), done)

    def action_edit(self) -> None:
        if self._state is not None and self._state.pending and editable(self._state.proposal):
            self.post_message(self.EditRequested(self._state.proposal.proposal_id, self._state.proposal.diff))

    def action_move(self, delta: int) -> None:
        if not self._ids:
            return
        self._index = max(0, min(len(self._ids) - 1, self._index + delta))
        self._state = self._states[self._index]
        self._draw()
        self.refresh_bindings()

    def action_scroll(self, lines: int) -> None:
        body = self.query_one("#diff-body", VerticalScroll)
        body.scroll_relative(y=lines, animate=False)
