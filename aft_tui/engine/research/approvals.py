"""Code changes waiting for the person: proposed ahead, decided in any order, never blocking.

Nothing the catalogue or a model wrote runs before the person approves it (unless they chose
--yes / --approve all). Research does not wait for them either: while a change waits, numeric
experiments run, and up to `AHEAD` changes wait at once, so the person can approve the next ones
while the current experiment trains. An approved change is checked against the code as it is
when its turn comes (a change kept meanwhile may have moved it); an edited diff replaces it; a
rejection is remembered in the journal and the recipe is not proposed again.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from aft_tui.engine import events as ev
from aft_tui.engine.research import journal
from aft_tui.engine.research.code_changes import CodeChange, read_text
from aft_tui.engine.research.context import ResearchRun

AHEAD = 2
"""Code changes that may wait for a decision at once."""


@dataclass
class Waiting:
    change: CodeChange
    arm: str
    proposal: ev.Proposal
    task: "asyncio.Task[ev.Decision]"


def code_digest(loop: ResearchRun, rels: list[str]) -> str:
    """The current text of the files a change touches: what it was written against."""
    digest = hashlib.sha256()
    for rel in sorted(rels):
        path = loop.host.work_root / rel
        digest.update(rel.encode() + b"\0" + (path.read_bytes() if path.is_file() else b"") + b"\0")
    return digest.hexdigest()


class ApprovalQueue:
    def __init__(self, loop: ResearchRun) -> None:
        self.loop = loop
        self.waiting: list[Waiting] = []

    @property
    def auto(self) -> bool:
        return self.loop.options.approve == "all" or bool(getattr(self.loop.host.settings, "yes", False))

    @property
    def full(self) -> bool:
        return len(self.waiting) >= AHEAD

    def recipes(self) -> list[str]:
        return [w.change.recipe for w in self.waiting if w.change.recipe]

    def titles(self) -> list[str]:
        return [w.change.title for w in self.waiting]

    def proposal(self, change: CodeChange) -> ev.Proposal:
        return ev.Proposal(proposal_kind="experiment", title=f"code experiment: {change.title}",
                           diff=change.diff, rationale=change.rationale, files=sorted(change.files))

    async def approve_now(self, change: CodeChange) -> bool:
        """Under --yes: approved at once (the proposal is still shown and recorded)."""
        decision = await self.loop.engine.propose(self.proposal(change), auto=True)
        return self._settle(change, decision)

    def offer(self, change: CodeChange, arm: str) -> None:
        change.base = code_digest(self.loop, [*change.files, *change.removed])
        proposal = self.proposal(change)
        task = asyncio.get_running_loop().create_task(self.loop.engine.propose(proposal))
        self.waiting.append(Waiting(change, arm, proposal, task))
        self.loop.host.info_message(f"Code experiment waiting for your approval: {change.title} (numeric experiments "
                                    "run meanwhile).")

    def take(self) -> tuple[CodeChange, str] | None:
        """The first decided change that was approved (rejections are recorded on the way)."""
        for item in list(self.waiting):
            if not item.task.done():
                continue
            self.waiting.remove(item)
            if item.task.cancelled() or item.task.exception() is not None:
                continue
            if self._settle(item.change, item.task.result()):
                return item.change, item.arm
        return None

    def cancel_all(self) -> None:
        """The session ended with changes undecided: each is closed as not run, so the views and
        the session log stop showing it as waiting."""
        engine = self.loop.engine
        for item in self.waiting:
            pid = item.proposal.proposal_id
            if pid and pid in engine.pending_proposals:
                engine.decide(pid, False, "research ended before this change was decided; it was not run")
            else:
                item.task.cancel()
        self.waiting.clear()

    def _settle(self, change: CodeChange, decision: ev.Decision) -> bool:
        loop = self.loop
        if decision.approved and decision.edited_diff is not None:
            edited = self._edited(decision.edited_diff)
            if edited is None:
                return False
            change.files, change.diff, change.base = edited, decision.edited_diff, ""
            change.title += " (edited by the person)"
        if not decision.approved:
            if change.recipe and change.recipe not in loop.rstate.tried_recipes:
                loop.rstate.tried_recipes.append(change.recipe)
            why = f": {decision.feedback}" if decision.feedback else ""
            loop.store.append_journal(journal.note(f"The code change '{change.title}' was not approved{why}."))
        return decision.approved

    def _edited(self, diff: str) -> dict[str, str] | None:
        from aft_tui.target.patches import apply_unified_diff

        host = self.loop.host
        rel = str(host.info.rel_script)
        try:
            return {rel: apply_unified_diff(read_text(host.work_script), diff, rel)}
        except ValueError as exc:
            host.emit(ev.ErrorEvent(message=f"Your edited diff does not apply ({exc}); the change was not run."))
            return None


def still_applies(loop: ResearchRun, change: CodeChange) -> bool:
    """Whether the files are still as the change was written against (nothing kept meanwhile)."""
    return not change.base or change.base == code_digest(loop, [*change.files, *change.removed])

