"""The next experiment, decided before its trial runs: its kind, where it came from, the
parameters it runs with and, for a code experiment, the change and the commits around it."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

from aft_tui.engine.research.code_changes import CodeChange
from aft_tui.engine.research.records import Experiment, Kind, Status
from aft_tui.engine.research.change_params import Retune


@dataclass
class ExperimentPlan:
    kind: Kind
    source: str
    description: str
    params: dict[str, Any] | None = None     # None: the optimizer (or the queued defaults) chooses
    rationale: str = ""
    change: CodeChange | None = None
    code_commit: str = ""
    parent_commit: str = ""                   # the head before the code change: what a revert restores
    confirms: Experiment | None = None
    arm: str = ""                             # the bandit arm this experiment pays (or not)
    repairs: int = 0                          # a repaired change: which repair (1 or 2)
    retune: Retune | None = None              # a change run again at another learning rate
    factor: float = 1.0                       # ... at this factor of the rate it was first run with
    seed: int | None = None                   # another value of the script's seed flag (baseline, confirm)

    def experiment(self, number: int, record: dict[str, Any], params: dict[str, Any], started: float) -> Experiment:
        """The experiment as its trial's record says it went (the verdict comes after)."""
        value = record.get("value")
        finite = isinstance(value, (int, float)) and math.isfinite(value)
        status = record.get("status") or ""
        return Experiment(
            number=number, kind=self.kind.value, source=self.source or str(record.get("strategy") or ""),
            description=self.description, status=Status.CRASH.value if status == "failed" else Status.DISCARD.value,
            params=dict(params), trial=record.get("number"), run_id=str(record.get("run_id") or ""),
            commit=str(record.get("commit") or ""), code_commit=self.code_commit,
            recipe=self.change.recipe if self.change else "", knobs=list(self.change.knobs) if self.change else [],
            files=sorted([*self.change.files, *self.change.removed]) if self.change else [],
            value=float(value) if finite and status in ("ok", "timeout") else None,
            memory_gb=memory_gb(record), duration=record.get("duration"),
            stopped_at_limit=status == "timeout", trial_status=status,
            confirms=self.confirms.number if self.confirms else None, repairs=self.repairs,
            started_at=started, finished_at=time.time())


_MEMORY_UNITS = (("_gb", 1.0), ("_gib", 1.0), ("_mb", 1 / 1024), ("_mib", 1 / 1024), ("_bytes", 1 / 1024 ** 3))


def memory_gb(record: dict[str, Any]) -> float | None:
    """The peak memory the script reported (peak_vram_mb, memory_gb, gpu_mem_mib, ...), in GB."""
    best: float | None = None
    for row in record.get("history") or []:
        for name, value in row.items():
            lowered = str(name).lower()
            if not ("mem" in lowered or "vram" in lowered) or not isinstance(value, (int, float)):
                continue
            scale = next((s for suffix, s in _MEMORY_UNITS if lowered.endswith(suffix)), None)
            if scale is None or not math.isfinite(value):
                continue
            gb = float(value) * scale
            best = gb if best is None else max(best, gb)
    return best
