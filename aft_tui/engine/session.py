"""Session identity and the small state file that lets a session be resumed."""

from __future__ import annotations

import secrets
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from aft_tui.errors import UserError
from aft_tui.fsutil import atomic_write_json, read_json


def new_session_id() -> str:
    """Sortable by time, unique enough for one project: 20261121-061530-a3f."""
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2)[:3]


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

    def save(self, state_dir: Path) -> None:
        self.updated = time.time()
        atomic_write_json(state_path(state_dir, self.session_id), asdict(self))

    @classmethod
    def load(cls, state_dir: Path, session_id: str) -> "SessionState":
        data = read_json(state_path(state_dir, session_id))
        if not isinstance(data, dict):
            known = ", ".join(list_session_ids(state_dir)) or "none"
            raise UserError(f"No session '{session_id}' in {state_dir}; known sessions: {known}. Run `aft sessions` to list them.")
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


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
    out = []
    for sid in list_session_ids(state_dir):
        try:
            out.append(SessionState.load(state_dir, sid))
        except UserError:
            continue
    return out
