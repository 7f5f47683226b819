"""An exclusive lock on a file, shared by every process and thread that asks for it.

Several sessions may tune one project at the same time, and all of them update the same
`outputs/results.json`. An atomic replace protects readers from a half-written file but not a
writer from another writer: two sessions that read the list, add their record and write it back
lose one of the two records. Each such read-modify-write therefore runs while holding this lock.

The lock is an OS lock (`fcntl.flock` on POSIX, `msvcrt.locking` on Windows) on a small file
that is never deleted, so the kernel releases it when a holder dies, even by SIGKILL: a crashed
session never leaves the others waiting. Within one process the lock is reentrant (a thread
holding it may take it again), since OS locks taken twice through two descriptors of one file
would wait on themselves.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator


class _Held:
    """One lock file's state in this process: who holds it and through which open file."""

    def __init__(self) -> None:
        self.mutex = threading.RLock()
        self.depth = 0
        self.handle: IO[bytes] | None = None


_registry: dict[str, _Held] = {}
_registry_guard = threading.Lock()


def _held_for(path: Path) -> _Held:
    key = os.path.abspath(path)
    with _registry_guard:
        held = _registry.get(key)
        if held is None:
            held = _registry[key] = _Held()
        return held


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _lock(handle: IO[bytes]) -> None:
        handle.seek(0)
        while True:
            try:
                # LK_LOCK retries for about ten seconds, then raises; a long holder is waited out.
                msvcrt.locking(handle.fileno(), msvcrt.LK_LOCK, 1)
                return
            except OSError:
                time.sleep(0.05)

    def _unlock(handle: IO[bytes]) -> None:
        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _lock(handle: IO[bytes]) -> None:
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
                return
            except InterruptedError:  # a signal arrived while waiting: wait again
                continue

    def _unlock(handle: IO[bytes]) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold the exclusive lock on `path` (created if missing) for the body of the `with`.

    Blocks until every other holder, in this process or another, has let go. Raises OSError when
    the lock file cannot be created (a read-only folder).
    """
    held = _held_for(Path(path))
    with held.mutex:
        if held.depth == 0:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            handle = open(path, "a+b")
            try:
                _lock(handle)
            except BaseException:
                handle.close()
                raise
            held.handle = handle
        held.depth += 1
        try:
            yield
        finally:
            held.depth -= 1
            if held.depth == 0 and held.handle is not None:
                handle, held.handle = held.handle, None
                try:
                    _unlock(handle)
                finally:
                    handle.close()
