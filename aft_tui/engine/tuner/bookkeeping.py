"""A trial's git bookkeeping: the commit of its parameters, its tag and its result note.

The tag and the note are a few milliseconds of git each and nothing waits for them but the
trial's end, so they run in a thread beside the trial and the writing of its results. Every
trial waits for both before it is told done, and a failure of either is said in one line: the
commit and the parameters file carry the trial, but the person should know a tag is missing.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from typing import Any, Callable

from aft_tui.formatting import fmt_params
from aft_tui.fsutil import json_text
from aft_tui.tuning.base import Choice
from aft_tui.vcs.workspace import PARAMS_FILE

NOTE_KEYS = ("run_id", "status", "reason", "metric", "value", "best", "duration", "params", "script_args")


def in_background(fn: Callable[..., Any], *args: Any) -> Future:
    """Run a git bookkeeping step in its own thread while the tuning loop goes on."""
    future: Future = Future()

    def work() -> None:
        try:
            future.set_result(fn(*args))
        except BaseException as exc:  # handed to whoever waits on the future
            future.set_exception(exc)

    threading.Thread(target=work, name="aft-git", daemon=True).start()
    return future


def settle(future: Future, say: Callable[[str], None], sentence: str) -> None:
    """Wait for a background step; its failure is said (`sentence`: what failed), never raised."""
    try:
        future.result()
    except Exception as exc:
        say(f"{sentence}: {exc}")


def commit_choice(workspace: Any, session_id: str, number: int, run_id: str, choice: Choice, command: list[str],
                  fixed: dict[str, Any], script_args: list[str]) -> tuple[str, str]:
    """Commit the trial's parameters file on the session branch; returns the commit and the tag
    name (the tag itself is made in the background, see `in_background`)."""
    payload = {"session": session_id, "trial": number, "run_id": run_id, "params": choice.params,
               "fixed": fixed, "strategy": choice.source,
               "rationale": choice.rationale, "command": command[1:] if len(command) > 1 else command,
               "script_args": script_args}
    message = f"trial {number}: {fmt_params(choice.params)}\n\nChosen by: {choice.source}. {choice.rationale}"
    if script_args:
        from aft_tui.target.script_args import describe

        message += f"\n\nScript arguments: {describe(script_args)}"
    sha = workspace.commit(message, files={PARAMS_FILE: json_text(payload) + "\n"})
    return sha, workspace.trial_tag(f"{number:03d}")
