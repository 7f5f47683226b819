"""`aft inspect`, `aft replay` and `aft doctor`: commands that run nothing of the person's."""

from __future__ import annotations

import argparse
from pathlib import Path

from aft_tui.errors import EXIT_OK


def cmd_inspect(args: argparse.Namespace) -> int:
    import json

    from aft_tui.engine.target_info import resolve_target
    from aft_tui.settings import load_settings
    from aft_tui.target.script_args import discover_with_args

    info = resolve_target(args.target)
    given = getattr(args, "script_args", None)
    script_args = given if given is not None else load_settings(info.project).args
    discovery = discover_with_args(info.script, script_args, Path.cwd())
    if args.json:
        print(json.dumps(discovery.to_dict(), indent=2, default=str))
        return EXIT_OK
    from rich.console import Console

    from aft_tui.ui.tables import discovery_report

    discovery_report(Console(), discovery)
    return EXIT_OK


def cmd_replay(args: argparse.Namespace) -> int:
    from aft_tui.ui.launch import run_replay

    return run_replay(args)


def cmd_doctor(args: argparse.Namespace) -> int:
    from aft_tui.doctor import run_doctor

    return run_doctor(cluster=getattr(args, "cluster", None))
