"""What the research loop's parts share, typed here so that they need not import the loop (or
the engine) that uses them: the session it runs in, and the loop's own state."""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from aft_tui.engine.events import Decision, Proposal
from aft_tui.engine.research.options import ResearchOptions
from aft_tui.engine.research.records import Experiment
from aft_tui.engine.research.store import ResearchState, ResearchStore
from aft_tui.engine.tuner.context import TunerHost
from aft_tui.tuning.bandit import Bandit


class ResearchHost(TunerHost, Protocol):
    """The session research runs in (the Engine): the tuner's host, plus approvals, the brain,
    the refactor workflow and the environment every run of the script gets."""

    brain: Any
    baseline_run: Any
    trial_env: dict[str, str]
    tuner: Any

    @property
    def workflow(self) -> Any: ...

    async def propose(self, proposal: Proposal, auto: bool | None = None) -> Decision: ...

    @property
    def pending_proposals(self) -> list[str]: ...

    def decide(self, proposal_id: str, approved: bool, feedback: str = "", edited_diff: str | None = None) -> None: ...


class ResearchRun(Protocol):
    """The research loop as its parts (sources.py, verdicts.py) see it."""

    host: ResearchHost
    engine: ResearchHost
    options: ResearchOptions
    store: ResearchStore
    rstate: ResearchState
    bandit: Bandit
    experiments: list[Experiment]
    metric: str | None
    direction: str | None
    pending_confirm: Experiment | None
    pending_repair: Any
    pending_retune: Any
    space: Any
    cut_short: bool
    commit_lock: asyncio.Lock

    def record_experiment(self, experiment: Experiment) -> None: ...

    def set_noise(self) -> None: ...

    def save(self) -> None: ...

    def rebuild_space(self, knobs: list[str] | None = None) -> None: ...

    def research_summary(self) -> dict[str, Any]: ...

    def stop_for(self, sentence: str) -> None: ...
