"""What the tuner needs from the session that runs it, and nothing more.

The Engine satisfies this; the tuner never reaches past it, and the engine never reaches into
the tuner (it asks `Tuner.in_flight`, `Tuner.cancel_running`, `Tuner.run`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from aft_tui.engine.events import Event
from aft_tui.engine.session import SessionState
from aft_tui.engine.target_info import TargetInfo
from aft_tui.runs.interpreter import Interpreter
from aft_tui.runs.outputs import Outputs
from aft_tui.settings import Settings


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
                   timeout: float | None, gpus: list[int] | None, omp_threads: int) -> Any: ...

    def first_slot(self) -> tuple[list[int] | None, int]: ...

    def take_baseline_run(self) -> Any:
        """The smoke run of the defaults kept for trial 1, handed over once (None when there is none)."""
        ...
