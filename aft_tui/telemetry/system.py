"""CPU, memory and per-trial process usage (psutil), for the pane beside the GPUs.

CPU percentages are measured between two calls (psutil's non-blocking mode), so the first
reading after start-up is 0 and every later one covers the time since the previous call:
exactly what a sampler ticking at a fixed interval wants, with no sleeping inside a read.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Iterable

import psutil


@dataclass(frozen=True)
class SystemReading:
    cpu_percent: float  # all cores, 0-100
    cpu_per_core: tuple[float, ...]
    ram_used: int  # bytes in use by programs (total minus what is available)
    ram_total: int


def read_system() -> SystemReading:
    per_core = tuple(psutil.cpu_percent(interval=None, percpu=True))
    mem = psutil.virtual_memory()
    total_cpu = sum(per_core) / len(per_core) if per_core else 0.0
    return SystemReading(total_cpu, per_core, int(mem.total - mem.available), int(mem.total))


@dataclass(frozen=True)
class ProcessUsage:
    """A process and all its descendants (a trial launched through torchrun is many processes)."""

    pid: int
    alive: bool
    cpu_percent: float = 0.0  # summed over the tree: 250 means two and a half cores
    rss: int = 0  # bytes, summed over the tree
    pids: tuple[int, ...] = field(default_factory=tuple)  # the root and its descendants


class ProcessTreeMeter:
    """Measures process trees, keeping psutil.Process objects between calls.

    psutil needs two looks at a process to give its CPU share, so a process seen for the
    first time reports 0% and is measured from the next call on. Finding descendants means
    reading every process's parent, the costly part (about 1.5 ms per 100 processes), so the
    process table is scanned once for all trees, and again only every `refresh` seconds or
    when a new root appears; in between, the known members are measured directly.
    """

    def __init__(self, refresh: float = 5.0) -> None:
        self.refresh = refresh
        self._procs: dict[int, psutil.Process] = {}
        self._members: dict[int, tuple[int, ...]] = {}
        self._scanned_at = float("-inf")

    def _process(self, pid: int) -> psutil.Process:
        proc = self._procs.get(pid)
        if proc is None or not proc.is_running():  # is_running also catches a reused pid
            proc = psutil.Process(pid)
            self._procs[pid] = proc
        return proc

    def _scan(self, roots: set[int]) -> None:
        children: dict[int, list[int]] = defaultdict(list)
        for proc in psutil.process_iter(["ppid"]):
            ppid = proc.info.get("ppid")
            if ppid is not None:
                children[ppid].append(proc.pid)
        self._members = {}
        for root in roots:
            members, todo = [root], list(children.get(root, ()))
            while todo:
                pid = todo.pop()
                members.append(pid)
                todo.extend(children.get(pid, ()))
            self._members[root] = tuple(members)
        self._scanned_at = time.monotonic()

    def measure(self, pids: Iterable[int]) -> dict[int, ProcessUsage]:
        roots = set(pids)
        if roots - self._members.keys() or time.monotonic() - self._scanned_at > self.refresh:
            self._scan(roots)
        seen: set[int] = set()
        out: dict[int, ProcessUsage] = {}
        for root in roots:
            cpu, rss, members = 0.0, 0, []
            for pid in self._members.get(root, (root,)):
                try:
                    proc = self._process(pid)
                    with proc.oneshot():
                        cpu += proc.cpu_percent(interval=None)
                        rss += proc.memory_info().rss
                    members.append(pid)
                except (psutil.NoSuchProcess, psutil.AccessDenied, ValueError):
                    continue
            seen.update(members)
            alive = bool(members) and members[0] == root
            out[root] = ProcessUsage(root, alive, cpu, rss, tuple(members) if alive else (root,))
        for pid in list(self._procs):  # forget processes that left every tree
            if pid not in seen:
                del self._procs[pid]
        return out
