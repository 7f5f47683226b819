"""What the tuner needs from the session that runs it, and what its parts share.

The Engine satisfies this; the tuner never reaches past it, and the engine never reaches into
the tuner (it asks `Tuner.in_flight`, `Tuner.cancel_running`, `Tuner.run`).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Callable, Protocol

from aft_tui.engine.events import Event
from aft_tui.engine.judge import TrialOutcome
from aft_tui.engine.session import SessionState
from aft_tui.engine.target_info import TargetInfo
from aft_tui.engine.tuner.ledger import Ledger
from aft_tui.runs.interpreter import Interpreter
from aft_tui.runs.outputs import Outputs
from aft_tui.settings import Settings
from aft_tui.tuning.base import Choice
from aft_tui.tuning.space import SearchSpace


class TunerHost(Protocol):
    """The session a tuner runs in: its settings and files, where events go, how a run is launched."""

    settings: Settings
    state: SessionState
    state_dir: Path
    session_id: str
    info: TargetInfo
    outputs: Outputs
    interpreter: Interpreter
    stop_requested: bool

    @property
    def workspace(self) -> Any: ...  # vcs.workspace.Workspace: commit, tag, add_note, head, branch

    @property
    def work_root(self) -> Path: ...

    @property
    def work_script(self) -> Path: ...

    @property
    def trial_cwd(self) -> Path: ...

    @property
    def script_args(self) -> list[str]: ...

    def emit(self, event: Event) -> None: ...

    def info_message(self, text: str) -> None: ...

    def discover(self) -> Any: ...

    def trial_spec(self, run_id: str, number: int, params: dict[str, Any], command: list[str], *,
                   timeout: float | None, gpus: list[int] | None, omp_threads: int,
                   commit: str | None = None) -> Any: ...

    def connect_cluster(self) -> Any:
        """The session's cluster plan with --cluster (connecting once), else None; blocking."""
        ...

    def first_slot(self) -> tuple[list[int] | None, int]: ...

    def take_baseline_run(self) -> Any:
        """The smoke run of the defaults kept for trial 1, handed over once (None when there is none)."""
        ...


class TuningRun(Protocol):
    """What the tuner's parts (one_trial, setup, summary) share: the loop's state, as the Tuner
    holds it. Typed here so the parts need not import the loop that uses them."""

    host: TunerHost
    settings: Settings
    state: SessionState
    ledger: Ledger
    study: Any
    space: SearchSpace | None
    metric: str | None
    direction: str | None
    n_trials: int
    count_limit: int          # the trial count the run ends at, as shown; 0: none (research: the clock)
    seeds_vary: bool          # the seed flag is carried in the space, so a run can take another seed
    started: float
    end_reason: str
    stop_sentence: str
    said_findings: set[str]
    cancelled: bool
    omp_threads: int
    slots: int
    own_start: float | None
    running: dict[str, Any]
    commit_lock: asyncio.Lock

    def session_results(self) -> list[dict[str, Any]]: ...

    def best_result(self) -> dict[str, Any] | None: ...

    def take_baseline(self) -> Any: ...

    def trial_timeout(self) -> float | None: ...

    def choose_objective(self, outcome: TrialOutcome) -> None: ...

    def late_trial(self, choice: Choice) -> Any: ...

    def prune_check(self, trial: Any) -> Callable[[float, int], str | None]: ...

    def findings(self, history: list[dict[str, Any]]) -> list[dict[str, Any]]: ...

    def diagnose(self, record: Any, outcome: TrialOutcome) -> dict[str, Any]: ...

    def keep_if_best(self, record: dict[str, Any], outcome: TrialOutcome,
                     previous_best: dict[str, Any] | None) -> None: ...

    def announce_finish(self, record: dict[str, Any]) -> None: ...
