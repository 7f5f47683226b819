"""Where a session's refs live: the branch and tag prefix, and the rule for a session id.

Sessions live under `aft/` unless the repository already has a branch or tag named `aft`, which
git cannot hold beside refs below it; then the first free fallback prefix is used and recorded,
so a resume finds the session again.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aft_tui.errors import UserError
from aft_tui.vcs import gitcmd

if TYPE_CHECKING:
    import git

BRANCH_PREFIX = "aft/"
"""Where session branches (`aft/<session>`) and trial tags (`aft/<session>/trial-001`) live."""
OTHER_PREFIXES = ("aft-sessions/",) + tuple(f"aft-sessions-{n}/" for n in range(2, 10))
"""Used instead, in that order, when the repository has a branch or tag named like the prefix
(`aft`): git cannot hold both refs/heads/aft and refs/heads/aft/<session>."""
SESSION_PREFIXES = (BRANCH_PREFIX, *OTHER_PREFIXES)

_SESSION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def check_session_id(session_id: str) -> None:
    """Refuse an id git could not use in a branch name, before anything is written."""
    if (
        not isinstance(session_id, str)
        or not _SESSION_ID.match(session_id)
        or ".." in session_id
        or session_id.endswith((".lock", "."))
    ):
        raise UserError(
            f"Session id {session_id!r} cannot name a branch; use letters, digits, '.', '_' or '-' "
            "(starting with a letter or digit)."
        )


def branch_exists(runner: "git.Git", branch: str) -> bool:
    return gitcmd.try_out(runner, "rev-parse", "-q", "--verify", f"refs/heads/{branch}") is not None


def session_branches(runner: "git.Git") -> list[str]:
    """Session ids that have a branch under any session prefix."""
    patterns = [f"refs/heads/{prefix}" for prefix in SESSION_PREFIXES]
    text = gitcmd.try_out(runner, "for-each-ref", "--format=%(refname)", *patterns) or ""
    names = []
    for line in text.splitlines():
        prefix = next((p for p in patterns if line.startswith(p)), None)
        if prefix is not None:
            names.append(line[len(prefix):])
    return [name for name in names if "/" not in name]


def _blocking_ref(runner: "git.Git", prefix: str) -> str | None:
    """'branch' or 'tag' when a ref named like `prefix` (without its slash) keeps git from
    creating refs below it; None when the prefix is free."""
    name = prefix.rstrip("/")
    for kind, ref in (("branch", f"refs/heads/{name}"), ("tag", f"refs/tags/{name}")):
        if gitcmd.try_out(runner, "rev-parse", "-q", "--verify", ref) is not None:
            return kind
    return None


def choose_prefix(runner: "git.Git", toplevel: Path) -> tuple[str, str]:
    """The prefix for a new session's branch and tags, and a sentence when it is not the usual one."""
    blocked = _blocking_ref(runner, BRANCH_PREFIX)
    if blocked is None:
        return BRANCH_PREFIX, ""
    for prefix in OTHER_PREFIXES:
        if _blocking_ref(runner, prefix) is None:
            return prefix, (f"This repository has a {blocked} named '{BRANCH_PREFIX.rstrip('/')}', so the session's "
                            f"branch and tags are under {prefix} instead of {BRANCH_PREFIX}.")
    raise UserError(f"The repository {toplevel} has a {blocked} named '{BRANCH_PREFIX.rstrip('/')}' (and branches or "
                    f"tags named {', '.join(p.rstrip('/') for p in OTHER_PREFIXES)}), so git cannot hold AFT's session "
                    f"branches; rename the {blocked} 'aft' (e.g. `git branch -m aft my-aft`) and try again.")


def existing_prefix(runner: "git.Git", session_id: str, recorded: Any) -> str | None:
    """The prefix of an existing session's branch: the recorded one, else whichever holds it
    (sessions made before the prefix was recorded are under aft/)."""
    candidates = [recorded] if isinstance(recorded, str) and recorded in SESSION_PREFIXES else []
    for prefix in [*candidates, *SESSION_PREFIXES]:
        if branch_exists(runner, prefix + session_id):
            return prefix
    return None
