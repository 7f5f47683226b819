"""Session identity and the small state file that lets a session be resumed."""

from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from aft_tui.errors import UserError
from aft_tui.fsutil import atomic_write_json


def new_session_id() -> str:
    """Sortable by time and unique even for sessions started in the same second (several `aft
    tune` at once on one project): 20261121-061530-a3f9c2."""
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)


@dataclass
class SessionState:
    session_id: str
    project: str
    target: str  # relative to the project
    cwd: str = "."  # relative to the project: where trials run inside the worktree
    settings: dict[str, Any] = field(default_factory=dict)
    space: dict[str, Any] | None = None
    metric: str | None = None
    direction: str | None = None
    status: str = "new"  # new | running | interrupted | finished | failed
    created: float = field(default_factory=time.time)
    updated: float = field(default_factory=time.time)
    notes: dict[str, Any] = field(default_factory=dict)
    args: list[str] = field(default_factory=list)  # the script's own arguments, the same on every resume
    # The AFT process running the session (pid and start time, so a reused pid is not mistaken
    # for it): a "running" session whose process is gone was killed, and is listed as interrupted.
    owner_pid: int | None = None
    owner_started: float | None = None

    def claim(self) -> None:
        """Mark the session as running in this process."""
        from aft_tui.runs.orphans import start_time

        self.status = "running"
        self.owner_pid = os.getpid()
        self.owner_started = start_time(self.owner_pid)

    def running_elsewhere(self) -> bool:
        """Whether another live AFT process runs this session now."""
        from aft_tui.runs.orphans import is_running

        return (self.status == "running" and self.owner_pid != os.getpid()
                and is_running(self.owner_pid, self.owner_started))

    def save(self, state_dir: Path) -> None:
        self.updated = time.time()
        atomic_write_json(state_path(state_dir, self.session_id), asdict(self))

    @classmethod
    def load(cls, state_dir: Path, session_id: str) -> "SessionState":
        path = state_path(state_dir, session_id)
        data = _read_state(path, session_id)
        if data is None:
            known = ", ".join(list_session_ids(state_dir)) or "none"
            raise UserError(f"No session '{session_id}' in {state_dir}; known sessions: {known}. Run `aft sessions` to list them.")
        state = cls(**data)
        if state.status == "running" and not state.running_elsewhere() and state.owner_pid != os.getpid():
            state.status = "interrupted"  # its AFT was killed (kill -9, a lost machine) before it could say so
        return state


class DamagedSessionError(UserError):
    """A session's state file exists but cannot be read as one (binary, not JSON, wrong types).

    Exit code 1: nothing was wrong with the command, the record is; `problem` is the short
    reason, so a listing can name the file in one line and go on with the other sessions.
    """

    def __init__(self, path: Path, session_id: str, problem: str) -> None:
        super().__init__(f"Session {session_id} cannot be resumed: its state file {path} is damaged ({problem}); "
                         "restore that file from a backup, or start a new session on your script "
                         "(the session's finished trials stay in outputs/results.json).", exit_code=1)
        self.path = Path(path)
        self.problem = problem


_REQUIRED = ("session_id", "project", "target")


def _read_state(path: Path, session_id: str) -> dict[str, Any] | None:
    """The fields of a state file, checked; None when there is no such file."""
    from aft_tui.engine.field_types import FieldTypeError, typed_fields

    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise DamagedSessionError(path, session_id, f"it cannot be read: {exc.strerror}") from None
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise DamagedSessionError(path, session_id, "it is not text: binary or damaged bytes") from None
    except (ValueError, RecursionError) as exc:
        where = f" at line {exc.lineno}" if isinstance(exc, json.JSONDecodeError) else ""
        raise DamagedSessionError(path, session_id, f"it is not valid JSON{where}") from None
    if not isinstance(data, dict):
        raise DamagedSessionError(path, session_id, "it is not a JSON object")
    missing = [name for name in _REQUIRED if name not in data]
    if missing:
        raise DamagedSessionError(path, session_id, f"it has no '{missing[0]}' field")
    try:
        return typed_fields(SessionState, data)
    except FieldTypeError as exc:
        raise DamagedSessionError(path, session_id, f"its {exc}") from None


def state_path(state_dir: Path, session_id: str) -> Path:
    return Path(state_dir) / "sessions" / f"{session_id}.json"


def log_path(state_dir: Path, session_id: str) -> Path:
    return Path(state_dir) / "sessions" / f"{session_id}.jsonl"


def list_session_ids(state_dir: Path) -> list[str]:
    folder = Path(state_dir) / "sessions"
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.json"))


def list_sessions(state_dir: Path) -> list[SessionState]:
    """The project's readable sessions, oldest first (damaged state files left out)."""
    return scan_sessions(state_dir)[0]


def scan_sessions(state_dir: Path) -> tuple[list[SessionState], list[DamagedSessionError]]:
    """The readable sessions, and the damaged state files: one bad file must not hide the others."""
    found: list[SessionState] = []
    damaged: list[DamagedSessionError] = []
    for sid in list_session_ids(state_dir):
        try:
            found.append(SessionState.load(state_dir, sid))
        except DamagedSessionError as exc:
            damaged.append(exc)
        except UserError:
            continue
    return found, damaged
