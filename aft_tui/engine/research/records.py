"""One research experiment, typed: what was tried, on which commit, what it scored, and its verdict.

An experiment is one trial (outputs/results.json holds its full record) seen from research mode:
its kind, the change it made, and whether the change was kept. `experiments.json` is the list
of these; results.tsv, the journal, the report and finalize are all made from it.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from typing import Any


class Kind(str, enum.Enum):
    BASELINE = "baseline"   # the person's configuration, run a few times to measure the noise
    NUMERIC = "numeric"     # parameter values from the optimizer (or the LLM overriding it)
    CODE = "code"           # a change to the code: a catalogue recipe or the LLM's diff
    CONFIRM = "confirm"     # a re-run of a gain inside the noise, before trusting it


class Status(str, enum.Enum):
    KEEP = "keep"
    DISCARD = "discard"
    CRASH = "crash"


@dataclass
class Experiment:
    number: int
    kind: str
    source: str                      # defaults | optimizer strategy name | catalogue | llm | confirm
    description: str
    status: str = Status.DISCARD.value
    reason: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    trial: int | None = None         # the trial number in outputs/results.json
    run_id: str = ""
    commit: str = ""                 # the commit the trial ran on
    code_commit: str = ""            # code experiments: the commit that changed the code
    revert_commit: str = ""          # discarded code experiments: the commit that took it back
    recipe: str = ""                 # catalogue id, when the change came from the catalogue
    knobs: list[str] = field(default_factory=list)   # new parameters the change exposed
    files: list[str] = field(default_factory=list)   # files the change touched
    value: float | None = None
    memory_gb: float | None = None
    duration: float | None = None
    stopped_at_limit: bool = False
    trial_status: str = ""           # the trial's own status (ok, failed, timeout, ...)
    repairs: int = 0
    confirms: int | None = None      # confirm runs: the experiment they re-ran
    started_at: float = 0.0
    finished_at: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Experiment":
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    @property
    def kept(self) -> bool:
        return self.status == Status.KEEP.value

