"""Signalling a trial's process group, and telling whether any of it still runs.

A trial runs in its own process group (its own session on POSIX), so one signal reaches every
process it started: DataLoader workers, a torchrun gang, a shell's children. On Windows the
trial's console process group gets CTRL_BREAK for an interrupt, and anything stronger ends
the process itself.
"""

from __future__ import annotations

import asyncio
import os
import signal

WINDOWS = os.name == "nt"

HARD_STOP = signal.SIGKILL if not WINDOWS else signal.SIGTERM
"""The signal that cannot be ignored (Windows has none: its TERM ends the process)."""


def signal_group(pid: int | None, sig: int, transport: asyncio.SubprocessTransport | None = None) -> None:
    """Send `sig` to the group led by `pid`; a group already gone is not an error."""
    if pid is None:
        return
    if WINDOWS:
        try:
            if sig == signal.SIGINT:
                os.kill(pid, signal.CTRL_BREAK_EVENT)  # type: ignore[attr-defined]
            elif transport is not None:
                transport.kill()
        except OSError:
            pass
        return
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def group_alive(pid: int | None) -> bool:
    """Whether any process of the group led by `pid` still runs (zombies awaiting a reaper do not count)."""
    if pid is None or WINDOWS:
        return False
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    import psutil

    for proc in psutil.process_iter(["status"]):
        try:
            if os.getpgid(proc.pid) == pid and proc.info["status"] != psutil.STATUS_ZOMBIE:
                return True
        except (ProcessLookupError, PermissionError, psutil.Error):
            continue
    return False
