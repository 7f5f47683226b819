"""Version control for tuning sessions: a branch and worktree per session, a commit per applied
proposal and per trial, results as git notes, tags per trial, compare and rollback.

GitPython is imported only when a workspace is used, so importing this package stays cheap.
"""

from aft_tui.vcs.compare import Comparison, compare
from aft_tui.vcs.workspace import NOTES_REF, PARAMS_FILE, Workspace

__all__ = ["NOTES_REF", "PARAMS_FILE", "Comparison", "Workspace", "compare"]
