"""Errors meant for the person at the keyboard.

A `UserError` carries one sentence that names the problem and the fix; the CLI prints it
without a traceback and exits with `exit_code`.
"""

from __future__ import annotations

# What `aft` exits with: done, did not do what was asked, bad usage, a bug in AFT, interrupted.
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 70, 130


class UserError(Exception):
    """A problem with the user's input or environment, reported as one clear sentence."""

    def __init__(self, message: str, exit_code: int = 2, *, in_chat: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
        self._in_chat = in_chat

    @property
    def chat_message(self) -> str:
        """The sentence as the chat shows it: a fix named as a shell command (`aft pipeline x.py`)
        is a slash command there (`/pipeline`)."""
        return self._in_chat or self.message

    def __str__(self) -> str:
        return self.message
