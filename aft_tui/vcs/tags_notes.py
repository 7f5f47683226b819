"""Trial tags and the results notes (`refs/notes/aft`) on a session's commits.

Notes are pushed along with the branch, so what goes into one is redacted first; sessions in one
repository share the notes ref, so a note waits out another session's update of it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aft_tui.errors import UserError
from aft_tui.redaction import redact
from aft_tui.vcs import gitcmd
from aft_tui.vcs.project_repo import parse_json

if TYPE_CHECKING:
    import git

NOTES_REF = "refs/notes/aft"


def tag_commit(runner: "git.Git", name: str, sha: str, branch: str) -> None:
    """Point tag `name` at `sha` (moved if it exists: a resumed trial re-tags its new commit)."""
    status, _, err = gitcmd.run(runner, ["tag", "-f", "--", name, f"{sha}^{{commit}}"], check=False)
    if status == 0:
        return
    if "not a valid tag name" in err:
        raise UserError(f"Tag name {name!r} is not valid in git; use letters, digits, '/', '.', '_' or '-'.")
    if "resolve" in err or "not a valid" in err:
        raise UserError(f"No commit {sha!r} in {branch}'s repository; pick one from `aft runs`.")
    raise gitcmd.git_error(command_error(["tag", name], status, err), f"tag {sha} as {name}")


def add_note(runner: "git.Git", sha: str, data: Mapping[str, Any], branch: str) -> None:
    """Attach `data` (as JSON) to commit `sha` under NOTES_REF, replacing any earlier note."""
    # Notes are pushed along with the branch: no secret a trial printed may reach one.
    payload = (redact(json.dumps(dict(data), indent=2, sort_keys=True, default=str)) + "\n").encode("utf-8")
    args = ["notes", f"--ref={NOTES_REF}", "add", "-f", "-F", "-", f"{sha}^{{commit}}"]
    for attempt in range(40):
        status, _, err = gitcmd.run(runner, args, stdin=payload, check=False)
        if status == 0:
            return
        if "failed to resolve" in err.lower():
            raise UserError(f"No commit {sha!r} in {branch}'s repository; pick one from `aft runs`.")
        # Sessions in one repository share the notes ref; wait out a concurrent update.
        if "lock" not in err.lower() or attempt == 39:
            raise gitcmd.git_error(command_error(args, status, err), f"record results on {sha}")
        time.sleep(0.05)


def read_note(runner: "git.Git", sha: str) -> dict[str, Any] | None:
    """The note on `sha`; None when it has none or it is not a JSON object."""
    status, text, _ = gitcmd.run(runner, ["notes", f"--ref={NOTES_REF}", "show", sha], check=False)
    return parse_json(text) if status == 0 else None


def command_error(args: list[str], status: int, stderr: str) -> Exception:
    """A failed git call in the shape `gitcmd.git_error` words for the person."""
    import git

    return git.GitCommandError(["git", *args], status, stderr)
