"""One commit of exactly the paths AFT wrote or removed, never the links to project data.

A trial makes one commit, so its cost is per trial overhead: paths this workspace committed
before are tracked, and `commit --include` stages and commits them in one git process.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from aft_tui.redaction import redact
from aft_tui.vcs import gitcmd

if TYPE_CHECKING:
    import git

_LITERAL = {"GIT_LITERAL_PATHSPECS": "1"}


def commit_paths(runner: "git.Git", message: str, staged: list[str], removed: list[tuple[Path, str]],
                 tracked: set[str], branch: str) -> None:
    """Remove `removed` (file, repository path), stage `staged` and commit, even with nothing changed.

    `tracked` holds the paths committed through it before; it is updated (and cleared when a
    removal may have untracked some of them).
    """
    import git

    commit_args = ["commit", "-q", "--allow-empty", "--no-verify", "--cleanup=whitespace",
                   "-m", redact(message.strip()) or "AFT commit"]
    try:
        if removed:
            tracked.clear()
            gitcmd.run(
                runner,
                ["rm", "-r", "-q", "-f", "--ignore-unmatch", "--", *(r for _, r in removed)],
                env=_LITERAL,
            )
            for target, _ in removed:
                if os.path.islink(target) or target.is_file():
                    target.unlink()
                elif target.is_dir():
                    shutil.rmtree(target)
        # `commit --include` refuses untracked paths, hence add + commit for those.
        done = False
        if staged and tracked.issuperset(staged):
            status, _, _ = gitcmd.run(runner, [*commit_args, "--include", "--", *staged], env=_LITERAL, check=False)
            done = status == 0
        if not done:
            if staged:
                gitcmd.run(runner, ["add", "-f", "--", *staged], env=_LITERAL)
            gitcmd.run(runner, commit_args)
        tracked.update(staged)
    except git.GitCommandError as exc:
        raise gitcmd.git_error(exc, f"commit to {branch}") from None
