"""Trials die with AFT, however AFT dies.

Each trial runs in its own process group (so that stopping it reaches every process it
started), which also means nothing stops it when AFT itself is killed: a SIGKILL, an OOM kill or
a closed terminal would leave training running, holding its GPU, beside the trial a resume
starts again.

A parent-death signal (`PR_SET_PDEATHSIG`) is not used: it is Linux-only, it fires when the
*thread* that forked exits (asyncio may fork from a worker thread that ends long before the
trial), and setting it needs `preexec_fn`, which is unsafe in a threaded program. Instead one
small guard process per AFT process holds the read end of a pipe whose write end only AFT holds.
AFT tells it, one line each, which process groups are running trials (`+ PGID`) and which are
over (`- PGID`). The kernel closes the pipe when AFT exits by any means; the guard then sends
SIGTERM to every group still listed, and SIGKILL to what is left after a short grace. The guard
uses only the standard library and runs this file directly (`python -I -S`), so it starts in a
few milliseconds and works the same on macOS. It lives in a session of its own, so a Ctrl-C or
a hang-up meant for AFT does not stop it first.

A trial still running when the guard could not act (it was killed too) is stopped by the next
`aft tune --resume`, from the process file the tuner keeps (see `orphans.py`). The few
milliseconds between a trial's spawn and its registration are the one window neither covers.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

GRACE_S = 2.0  # between SIGTERM and SIGKILL once AFT is gone
_POLL_S = 0.05


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def stop_groups(groups: set[int], grace: float = GRACE_S) -> None:
    """SIGTERM every group, then SIGKILL the ones still there after `grace` seconds."""
    for pgid in groups:
        _signal_group(pgid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    left = {g for g in groups if _group_alive(g)}
    while left and time.monotonic() < deadline:
        time.sleep(_POLL_S)
        left = {g for g in left if _group_alive(g)}
    for pgid in left:
        _signal_group(pgid, signal.SIGKILL)


def _serve(fd: int) -> None:
    """The guard's loop: follow the registrations until the pipe closes, then stop what is listed."""
    for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM, signal.SIGQUIT):
        signal.signal(sig, signal.SIG_IGN)  # only the pipe closing ends the guard
    groups: set[int] = set()
    pending = b""
    while True:
        try:
            data = os.read(fd, 4096)
        except OSError:
            data = b""
        if not data:
            break
        pending += data
        *lines, pending = pending.split(b"\n")
        for line in lines:
            op, _, value = line.strip().partition(b" ")
            try:
                pgid = int(value)
            except ValueError:
                continue
            if pgid <= 1:
                continue
            if op == b"+":
                groups.add(pgid)
            elif op == b"-":
                groups.discard(pgid)
    if groups:
        stop_groups(groups)


class Guard:
    """AFT's side: starts the guard process on first use and keeps it told.

    Thread-safe: trials may be launched from any thread's event loop. If the guard dies (someone
    killed it), the next registration starts a new one and hands it every group still running.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._owner: int | None = None  # the pid that started it (a forked child must not share it)
        self._proc: subprocess.Popen[bytes] | None = None
        self._groups: set[int] = set()

    @property
    def pid(self) -> int | None:
        """The guard process's pid, while one runs for this process."""
        with self._lock:
            return self._proc.pid if self._proc is not None and self._owner == os.getpid() else None

    def watch(self, pgid: int) -> None:
        """Stop group `pgid` if AFT dies before `release(pgid)`."""
        if os.name == "nt":
            return
        with self._lock:
            self._groups.add(pgid)
            try:
                self._send(f"+ {pgid}\n".encode())
            except OSError:  # no guard could start: the trial runs anyway, unguarded
                pass

    def release(self, pgid: int) -> None:
        """Group `pgid` is over (or AFT has stopped it itself)."""
        if os.name == "nt":
            return
        with self._lock:
            if pgid in self._groups:
                self._groups.discard(pgid)
                try:
                    self._send(f"- {pgid}\n".encode())
                except OSError:
                    pass

    def _send(self, line: bytes) -> None:
        for _ in range(2):
            restarted = self._ensure_started()
            assert self._fd is not None
            try:
                if restarted:  # a new guard learns every running group, this one included
                    os.write(self._fd, b"".join(f"+ {g}\n".encode() for g in sorted(self._groups)))
                else:
                    os.write(self._fd, line)
                return
            except OSError:  # the guard is gone: start another one and tell it again
                self._close()

    def _ensure_started(self) -> bool:
        if self._fd is not None and self._owner == os.getpid():
            return False
        self._fd = None
        read_end, write_end = os.pipe()  # both close-on-exec: no trial inherits the write end
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-I", "-S", os.path.abspath(__file__), "--serve"],
                stdin=read_end, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                close_fds=True, start_new_session=True,
            )
        except OSError:
            os.close(write_end)
            raise
        finally:
            os.close(read_end)
        self._fd, self._owner = write_end, os.getpid()
        return True

    def _close(self) -> None:
        if self._fd is not None and self._owner == os.getpid():
            try:
                os.close(self._fd)
            except OSError:
                pass
        self._fd = None
        if self._proc is not None:
            try:
                self._proc.wait(timeout=0)
            except subprocess.TimeoutExpired:
                pass
            self._proc = None


GUARD = Guard()

if __name__ == "__main__" and sys.argv[1:] == ["--serve"]:
    _serve(0)
