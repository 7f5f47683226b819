"""How AFT starts git processes.

Every git process AFT runs gets the same environment: configuration overrides passed through
`GIT_CONFIG_COUNT` (so nothing is ever written to the person's git config) that keep AFT's
commits free of their hooks, free of signing prompts and free of automatic gc pauses, plus a
fallback identity when none is configured, because a tuning run must not stop to ask for a name.

GitPython is imported inside functions: `import aft_tui` must stay cheap.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aft_tui.errors import UserError

if TYPE_CHECKING:
    import git

FALLBACK_NAME = "AFT"
FALLBACK_EMAIL = "aft@localhost"

_CONFIG_OVERRIDES: tuple[tuple[str, str], ...] = (
    ("core.hooksPath", os.devnull),
    ("commit.gpgSign", "false"),
    ("tag.gpgSign", "false"),
    ("gc.auto", "0"),
    ("maintenance.auto", "false"),
    ("advice.detachedHead", "false"),
)


def base_env() -> dict[str, str]:
    """Environment additions for every git process AFT starts."""
    try:
        start = int(os.environ.get("GIT_CONFIG_COUNT", "0") or 0)
    except ValueError:
        start = 0
    env: dict[str, str] = {}
    for i, (key, value) in enumerate(_CONFIG_OVERRIDES, start):
        env[f"GIT_CONFIG_KEY_{i}"] = key
        env[f"GIT_CONFIG_VALUE_{i}"] = value
    env["GIT_CONFIG_COUNT"] = str(start + len(_CONFIG_OVERRIDES))
    env["GIT_TERMINAL_PROMPT"] = "0"
    return env


def make_git(cwd: Path, extra_env: Mapping[str, str] | None = None) -> "git.Git":
    """A GitPython command runner rooted at `cwd` with AFT's environment and an identity."""
    import git

    runner = git.Git(str(cwd))
    env = base_env()
    if extra_env:
        env.update(extra_env)
    runner.update_environment(**env)
    _ensure_identity(runner)
    return runner


def _ensure_identity(runner: "git.Git") -> None:
    """Give commits a fallback author/committer when neither config nor environment names one."""
    listing = runner.execute(
        ["git", "config", "--get-regexp", r"^user\.(name|email)$"],
        with_exceptions=False,
    )
    configured = {line.split(" ", 1)[0].lower() for line in str(listing).splitlines() if line.strip()}
    fill: dict[str, str] = {}
    if "user.name" not in configured:
        for var in ("GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME"):
            if not os.environ.get(var):
                fill[var] = FALLBACK_NAME
    if "user.email" not in configured and not os.environ.get("EMAIL"):
        for var in ("GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL"):
            if not os.environ.get(var):
                fill[var] = FALLBACK_EMAIL
    if fill:
        runner.update_environment(**fill)


def run(
    runner: "git.Git",
    args: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    stdin: bytes | None = None,
    check: bool = True,
    keep_newline: bool = False,
) -> tuple[int, str, str]:
    """Run `git <args>`; return (status, stdout, stderr). With check=True a failure raises GitCommandError."""
    kwargs: dict[str, Any] = {
        "with_extended_output": True,
        "with_exceptions": check,
        "strip_newline_in_stdout": not keep_newline,
    }
    if env:
        kwargs["env"] = dict(env)
    command = ["git", *args]
    if stdin is None:
        status, stdout, stderr = runner.execute(command, **kwargs)
        return int(status), str(stdout), str(stderr)
    with tempfile.TemporaryFile() as handle:
        handle.write(stdin)
        handle.seek(0)
        status, stdout, stderr = runner.execute(command, istream=handle, **kwargs)
    return int(status), str(stdout), str(stderr)


def out(runner: "git.Git", *args: str, env: Mapping[str, str] | None = None) -> str:
    """stdout of a git command that must succeed, stripped."""
    return run(runner, args, env=env)[1].strip()


def try_out(runner: "git.Git", *args: str) -> str | None:
    """stdout of a git command, or None when it fails (an unknown ref, a missing file)."""
    status, text, _ = run(runner, args, check=False)
    return text.strip() if status == 0 else None


def git_error(exc: BaseException, doing: str) -> UserError:
    """Turn a failed git command into one sentence for the person at the keyboard."""
    stderr = getattr(exc, "stderr", "") or str(exc)
    if isinstance(stderr, bytes):
        stderr = stderr.decode("utf-8", "replace")
    detail = ""
    for line in str(stderr).splitlines():
        line = line.strip().strip("'").strip()
        if line.lower().startswith("stderr:"):
            line = line[7:].strip().strip("'").strip()
        for prefix in ("fatal:", "error:"):
            if line.lower().startswith(prefix):
                line = line[len(prefix):].strip()
        if line:
            detail = line
            break
    detail = detail.rstrip(".") or "git reported an error"
    return UserError(f"Git could not {doing} ({detail}); check the repository with `git status` and retry.")
