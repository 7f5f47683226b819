"""Replay: a recorded session played back through the same views, never executing anything.

`ReplayController` is a cursor over the recorded events: play/pause, step, seek and speed.
Seeking backwards rebuilds a fresh `SessionView` from the first k events, which is cheap
because folding events is plain Python; the views then redraw from it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from aft_tui.engine import events as ev
from aft_tui.errors import UserError
from aft_tui.ui.session_view import SessionView

# Long pauses in a recording (someone reading a diff) are shortened to this many seconds at speed 1.
MAX_GAP_S = 1.5
SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 64.0)


def resolve_session(ref: str, cwd: Path | None = None) -> Path:
    """A session file path, a session id of this project, or the name of a bundled session."""
    cwd = Path(cwd or Path.cwd())
    candidate = Path(ref).expanduser()
    if not candidate.is_absolute():
        candidate = cwd / candidate
    if candidate.is_file():
        return candidate
    from aft_tui.engine.target_info import git_toplevel

    roots = [git_toplevel(cwd) or cwd, cwd]
    bundled = Path(__file__).resolve().parents[2] / "sessions"
    for root in roots:
        for path in (root / ".aft" / "sessions" / f"{ref}.jsonl", root / "sessions" / f"{ref}.jsonl"):
            if path.is_file():
                return path
    if (bundled / f"{ref}.jsonl").is_file():
        return bundled / f"{ref}.jsonl"
    known = sorted(p.stem for p in (roots[0] / ".aft" / "sessions").glob("*.jsonl")) if (roots[0] / ".aft").is_dir() else []
    hint = f" (sessions here: {', '.join(known)})" if known else ""
    raise UserError(f"No session file or id '{ref}'{hint}; pass a .jsonl path such as sessions/demo-mlp.jsonl.")


def load_events(path: Path, notes: list[str] | None = None) -> list[ev.Event]:
    """The readable events of a session file; a sentence on any skipped lines goes to `notes`."""
    from aft_tui.engine.session_log import SessionReader

    reader = SessionReader(Path(path))
    try:
        events = list(reader)
    except OSError as exc:
        raise UserError(f"Cannot read session file {path} ({exc.strerror}); check the path.") from None
    if not events:
        damaged = f" ({len(reader.skipped)} damaged line{'s' if len(reader.skipped) > 1 else ''})" if reader.skipped else ""
        raise UserError(f"{path} holds no events{damaged}; is it an AFT session file (.jsonl)?")
    if notes is not None and reader.skipped:
        notes.append(reader.summary())
    return events


class ReplayController:
    def __init__(self, events: Iterable[ev.Event], speed: float = 1.0) -> None:
        self.events = list(events)
        if speed <= 0:
            raise UserError("--speed must be greater than 0, e.g. --speed 4.")
        self.speed = float(speed)
        self.position = 0  # events applied so far
        self.playing = False
        self.view = SessionView()
        self.path: Path | None = None
        self.notes: list[str] = []  # what the person should know about the file (damaged lines skipped)

    @classmethod
    def open(cls, ref: str, speed: float = 1.0, cwd: Path | None = None) -> "ReplayController":
        path = resolve_session(ref, cwd)
        notes: list[str] = []
        controller = cls(load_events(path, notes), speed)
        controller.path = path
        controller.notes = notes
        return controller

    @property
    def total(self) -> int:
        return len(self.events)

    @property
    def at_end(self) -> bool:
        return self.position >= len(self.events)

    def step(self) -> ev.Event | None:
        """Apply the next event to the session view and return it (None at the end)."""
        if self.at_end:
            self.playing = False
            return None
        event = self.events[self.position]
        self.position += 1
        self.view.apply(event)
        return event

    def seek(self, position: int) -> SessionView:
        """Rebuild the session view as it was after `position` events; views redraw from it."""
        position = max(0, min(int(position), len(self.events)))
        if position < self.position:
            self.view = SessionView()
            self.position = 0
        while self.position < position:
            self.view.apply(self.events[self.position])
            self.position += 1
        return self.view

    def next_delay(self) -> float:
        """Seconds to wait before the next event at the current speed (recorded gaps, capped)."""
        if self.at_end or self.position == 0:
            return 0.0
        gap = _ts(self.events[self.position]) - _ts(self.events[self.position - 1])
        return max(0.0, min(gap, MAX_GAP_S)) / self.speed

    def faster(self) -> float:
        self.speed = next((s for s in SPEEDS if s > self.speed), self.speed)
        return self.speed

    def slower(self) -> float:
        self.speed = next((s for s in reversed(SPEEDS) if s < self.speed), self.speed)
        return self.speed

    def toggle(self) -> bool:
        self.playing = not self.playing and not self.at_end
        return self.playing

    def describe(self) -> str:
        state = "▶ playing" if self.playing else ("■ end" if self.at_end else "❚❚ paused")
        return f"REPLAY {state} {self.position}/{self.total} ×{self.speed:g}"


def _ts(event: ev.Event) -> float:
    try:
        return float(event.ts)
    except (TypeError, ValueError):
        return 0.0
