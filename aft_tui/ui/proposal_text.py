"""How a proposal reads in every view: what approving it does, and whether its diff can be edited.

Refactors and repairs are file edits: their diff is the proposal, and the person may edit it.
Tuning runs and rollbacks run something: they carry a summary of what will run (and a
rollback also shows the files it restores); editing their diff would change nothing, so
only approve and reject apply.
"""

from __future__ import annotations

from typing import Any

RUN_KINDS = ("tune", "rollback")

_FALLBACK = {
    "tune": "Approving starts a tuning run: each trial's parameters become a commit on the session branch; "
            "the script itself is not changed. Stop it at any time with /stop.",
    "rollback": "Approving adds a commit on the session branch that restores that trial's files; "
                "nothing is rewritten.",
}


def runs_something(proposal: Any) -> bool:
    return getattr(proposal, "proposal_kind", "") in RUN_KINDS


def editable(proposal: Any) -> bool:
    """Whether 'edit in $EDITOR' means anything for this proposal."""
    return not runs_something(proposal) and bool((getattr(proposal, "diff", "") or "").strip())


def what_will_run(proposal: Any) -> str:
    """The summary to show instead of (or above) the diff; empty for plain file edits."""
    summary = (getattr(proposal, "summary", "") or "").strip()
    if summary:
        return summary
    kind = getattr(proposal, "proposal_kind", "")
    if kind in _FALLBACK:
        return _FALLBACK[kind]
    if not (getattr(proposal, "diff", "") or "").strip():
        return "Approving changes no file."
    return ""
