"""Entry points behind `aft chat` and `aft replay`: open the engine or the recording, pick the view.

The Textual app is used when stdout is a terminal; `--plain`, a pipe, or TERM=dumb gives the
prompt-toolkit REPL (chat) or a printed transcript (replay) instead.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any, TYPE_CHECKING

if TYPE_CHECKING:
    from aft_tui.engine.engine import Engine


def want_plain(explicit: bool) -> bool:
    return bool(explicit) or not sys.stdout.isatty() or os.environ.get("TERM") == "dumb"


def open_engine(args: argparse.Namespace, flags: dict[str, Any]) -> Any:
    """The engine for a new session on args.target, or for --resume SESSION."""
    from aft_tui.engine.open import open_session

    return open_session(args.target, flags, resume=getattr(args, "resume", None), project=getattr(args, "project", None),
                        no_target="aft chat needs your training script, e.g. `aft chat train.py`, or --resume SESSION.")


def _earlier_events(engine: Engine) -> list[Any]:
    """The events a resumed session already recorded (none for a new session)."""
    if engine.state.status == "new":
        return []
    from aft_tui.engine.session import log_path
    from aft_tui.engine.session_log import read_events

    path = log_path(engine.state_dir, engine.session_id)
    return list(read_events(path)) if path.is_file() else []


def _start_sampler() -> Any:
    try:
        from aft_tui.telemetry.sampler import Sampler

        return Sampler(interval=1.0).start()
    except Exception:  # telemetry is a nicety; the app says "telemetry is off" without it
        return None


def run_chat(args: argparse.Namespace, flags: dict[str, Any]) -> int:
    from aft_tui.tracking.mlflow_mirror import attach

    engine = open_engine(args, flags)
    mirror = attach(engine)
    if want_plain(getattr(args, "plain", False)):
        from aft_tui.ui.plain import run_repl

        try:
            return run_repl(engine)
        finally:
            if mirror is not None:
                mirror.close()
    from functools import partial

    from aft_tui.ui.app import AftApp
    from aft_tui.ui.history_file import append_entry, history_path, load_entries

    path = history_path(engine)
    path.parent.mkdir(parents=True, exist_ok=True)
    past = load_entries(path)[-500:]
    # The app starts telemetry once its first screen is drawn, and stops it when it closes.
    app = AftApp(engine, start_sampler=_start_sampler, theme_name=engine.settings.theme, history=past,
                 remember=partial(append_entry, path), earlier=_earlier_events(engine))
    try:
        code = app.run()
    finally:
        if app.sampler is not None:
            app.sampler.stop()
        if mirror is not None:
            mirror.close()
        engine.close("quit")
    print(f"Session {engine.session_id} saved; resume with `aft chat --resume {engine.session_id}`, "
          f"replay with `aft replay {engine.session_id}`.")
    return int(code or 0)


def run_replay(args: argparse.Namespace) -> int:
    from aft_tui.ui.replay import ReplayController

    controller = ReplayController.open(args.session, speed=args.speed if args.speed is not None else 1.0)
    for note in controller.notes:  # damaged lines skipped: said once, before the replay
        print(f"aft: {note}", file=sys.stderr)
    if want_plain(getattr(args, "plain", False)):
        from aft_tui.ui.plain import print_transcript

        print_transcript(controller.events)
        return 0
    from aft_tui.settings import load_settings

    from aft_tui.ui.app import AftApp

    settings = load_settings(Path.cwd())
    app = AftApp(replay=controller, theme_name=settings.theme)
    return int(app.run() or 0)
