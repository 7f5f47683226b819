"""Finding and stopping a trial that a killed AFT left running.

The guard (`watchdog.py`) normally stops a trial when AFT dies. When it could not (it was killed
too, or could not start), the trial would go on training beside the one a resume starts again.
So each running trial is recorded in a small file: its pid, its process group and the process's
start time. A pid alone is not enough, as the system reuses pids; a process is taken for the
trial only if its start time matches, and a process of the group only if it started after the
trial did.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aft_tui.fsutil import atomic_write_json

_SAME_START_S = 1.0  # start times are read from the kernel in clock ticks; allow for rounding


def start_time(pid: int) -> float | None:
    """When process `pid` started (seconds since the epoch), or None if it is gone."""
    import psutil

    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return None


def is_running(pid: Any, started: Any) -> bool:
    """Whether the process `pid` that started at `started` (see start_time) still runs."""
    if not (isinstance(pid, int) and pid > 0 and isinstance(started, (int, float))):
        return False
    now = start_time(pid)
    return now is not None and abs(now - float(started)) <= _SAME_START_S


def record_process(path: Path, pid: int, command: list[str], note: dict[str, Any]) -> None:
    """Write the process file of a trial that has just started (its own group, led by `pid`)."""
    data = dict(note)
    data.update(pid=pid, pgid=pid, started=start_time(pid), command=list(command))
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(path, data, durable=False)  # survives the process being killed, which is the point


@dataclass
class Leftover:
    pid: int
    pgid: int
    processes: int  # how many processes of its group were still running


def _members(pgid: int, started: float) -> list[Any]:
    """The processes still running in the recorded group (zombies do not count)."""
    import psutil

    leader_start = start_time(pgid)
    if leader_start is not None and abs(leader_start - started) > _SAME_START_S:
        return []  # the pid now belongs to another program: nothing of ours is left under it
    found = []
    for proc in psutil.process_iter(["create_time", "status"]):
        try:
            if os.getpgid(proc.pid) != pgid:
                continue
            if proc.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            created = proc.info["create_time"]
            if created is None or created < started - _SAME_START_S:
                continue
        except (OSError, psutil.Error):
            continue
        found.append(proc)
    return found


def stop_recorded(data: dict[str, Any], grace: float = 3.0) -> Leftover | None:
    """Stop what still runs of the recorded trial: SIGTERM, then SIGKILL after `grace` seconds.

    Returns what was found running (None: nothing was, or the record is unusable).
    """
    if os.name == "nt":
        return None
    import psutil

    pid, pgid, started = data.get("pid"), data.get("pgid"), data.get("started")
    if not (isinstance(pid, int) and isinstance(pgid, int) and pgid > 1 and isinstance(started, (int, float))):
        return None
    members = _members(pgid, float(started))
    if not members:
        return None
    for proc in members:
        try:
            proc.terminate()  # psutil checks the process is still the one it found
        except psutil.Error:
            pass
    alive = _wait_gone(members, grace)
    for proc in alive:
        try:
            proc.kill()
        except psutil.Error:
            pass
    _wait_gone(alive, 1.0)
    # Anything the group started meanwhile: it is known to be ours now.
    for _ in range(3):
        rest = _members(pgid, float(started))
        if not rest:
            break
        for proc in rest:
            try:
                proc.send_signal(signal.SIGKILL)
            except psutil.Error:
                pass
        _wait_gone(rest, 1.0)
    return Leftover(pid=pid, pgid=pgid, processes=len(members))


def _running(proc: Any) -> bool:
    import psutil

    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _wait_gone(procs: list[Any], timeout: float) -> list[Any]:
    """Wait until the processes have exited (a zombie has: only its parent's reaping is left)."""
    deadline = time.monotonic() + timeout
    alive = [p for p in procs if _running(p)]
    while alive and time.monotonic() < deadline:
        time.sleep(0.05)
        alive = [p for p in alive if _running(p)]
    return alive
