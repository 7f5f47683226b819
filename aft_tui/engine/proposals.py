"""Proposals the person approves or rejects, and their ids (p1, p2, ...), which go on across a resume."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from aft_tui.engine import events as ev
from aft_tui.errors import UserError


class Proposals:
    """The engine's proposal surface (mixed into Engine, which sets `_pending`, `_proposal_ids`,
    `settings` and `emit`)."""

    def next_proposal_id(self) -> str:
        return f"p{next(self._proposal_ids)}"

    async def propose_action(self, kind: str, title: str, rationale: str, *, diff: str = "",
                             summary: str = "") -> ev.Decision:
        """`propose` for callers below the engine (the assistant's tools), which know a proposal's
        parts but not the engine's event types."""
        return await self.propose(ev.Proposal(proposal_kind=kind, title=title, rationale=rationale, diff=diff,
                                              summary=summary))

    async def propose(self, proposal: ev.Proposal, auto: bool | None = None) -> ev.Decision:
        """Show a proposal and wait for the person's decision (or approve it under --yes)."""
        if not proposal.proposal_id:
            proposal.proposal_id = self.next_proposal_id()
        self.emit(proposal)
        if auto if auto is not None else self.settings.yes:
            decision = ev.Decision(proposal_id=proposal.proposal_id, approved=True, by="auto")
            self.emit(decision)
            return decision
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self._pending[proposal.proposal_id] = future
        try:
            decision = await future
        finally:
            self._pending.pop(proposal.proposal_id, None)
        return decision

    def decide(self, proposal_id: str, approved: bool, feedback: str = "", edited_diff: str | None = None) -> None:
        """Called by a view when the person approves or rejects a pending proposal."""
        future = self._pending.get(proposal_id)
        if future is None or future.done():
            raise UserError(f"There is no pending proposal '{proposal_id}'.")
        decision = ev.Decision(proposal_id=proposal_id, approved=approved, feedback=feedback, edited_diff=edited_diff)
        if edited_diff is not None:
            decision.feedback = feedback or "edited by the user"
        self.emit(decision)
        future.set_result(decision)

    @property
    def pending_proposals(self) -> list[str]:
        return list(self._pending)


def highest_proposal_number(path: Path) -> int:
    """The largest n among the proposal ids "p<n>" a session log holds (0 when none or no log).

    Only lines that mention a proposal id are parsed, so this stays cheap on long sessions.
    """
    highest = 0
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if '"proposal_id"' not in line:
                    continue
                try:
                    pid = json.loads(line).get("proposal_id")
                except (ValueError, AttributeError):  # a torn last line, or not an object
                    continue
                if isinstance(pid, str) and pid[:1] == "p" and pid[1:].isdigit():
                    highest = max(highest, int(pid[1:]))
    except FileNotFoundError:
        return 0
    return highest
