"""A trial's peak memory, for results.tsv's memory column: sampled while it runs.

GPU memory of the trial's processes where NVML reports it (what the column means to people who
train on GPUs: an experiment that needs more memory may not fit), else the host memory (RSS)
of its process tree. A script that reports its own peak (peak_vram_mb, memory_gb) wins over both.
"""

from __future__ import annotations

import asyncio
from typing import Callable, Iterable

GIB = 1024 ** 3
INTERVAL = 0.5


class PeakMemory:
    def __init__(self, interval: float = INTERVAL) -> None:
        self.interval = interval
        self.gpu_peak = 0
        self.rss_peak = 0

    @property
    def gb(self) -> float | None:
        peak = self.gpu_peak or self.rss_peak
        return peak / GIB if peak else None

    async def follow(self, pids: Callable[[], Iterable[int]]) -> None:
        """Sample until cancelled; `pids` names the running trials' root processes each time."""
        from aft_tui.telemetry.system import ProcessTreeMeter

        meter = ProcessTreeMeter(refresh=2.0)
        while True:
            roots = [pid for pid in pids() if pid]
            if roots:
                await asyncio.to_thread(self._sample, meter, roots)
            await asyncio.sleep(self.interval)

    def _sample(self, meter: object, roots: list[int]) -> None:
        usage = meter.measure(roots)  # type: ignore[attr-defined]
        members = {pid for u in usage.values() for pid in u.pids}
        self.rss_peak = max(self.rss_peak, sum(u.rss for u in usage.values()))
        from aft_tui.telemetry.nvml import read_gpus

        gpus = read_gpus() or []
        used = sum(b or 0 for g in gpus for pid, b in g.processes if pid in members)
        self.gpu_peak = max(self.gpu_peak, used)
