"""`aft` entry point.

Start-up must stay fast: only argparse, this module and the shared options load before a
command is chosen; each command lives in `aft_tui.commands` and imports what it needs. Errors meant for the person are `UserError`s, printed
as one line without a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Callable

from aft_tui.commands.options import (SCRIPT_ARG_COMMANDS, SCRIPT_ARGS_HELP, add_research_options, add_run_options,
                                     split_script_args)
from aft_tui.commands.options import flags_of as _flags
from aft_tui.errors import EXIT_FAILED, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, UserError

__all__ = ["COMMANDS", "EXIT_FAILED", "EXIT_INTERNAL", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_USAGE",
           "SCRIPT_ARG_COMMANDS", "build_parser", "main", "split_script_args", "_flags"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aft",
        description="AFT (AutoFineTuner): tunes your working training script. "
                    "Every change and every trial is a git commit on a session branch.",
        usage="aft [-h] [--version] COMMAND ... [-- SCRIPT ARGS ...]",
        epilog=SCRIPT_ARGS_HELP,
    )
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("tune", help="run trials on a script that takes its hyperparameters as flags",
                       usage="aft tune [options] [target] [-- SCRIPT ARGS ...]", epilog=SCRIPT_ARGS_HELP)
    p.add_argument("target", nargs="?", help="the training script")
    p.add_argument("--resume", metavar="SESSION", help="resume a session (see `aft sessions`)")
    add_run_options(p)

    p = sub.add_parser("inspect", help="list the script's tunable parameters, metrics, framework (read-only)",
                       usage="aft inspect [--json] target [-- SCRIPT ARGS ...]", epilog=SCRIPT_ARGS_HELP)
    p.add_argument("target", help="the training script")
    p.add_argument("--json", action="store_true", help="machine-readable output")

    for name, text in (("refactor", "expose the script's hyperparameters as flags (a diff you approve)"),
                       ("repair", "smoke-run the script and repair AFT's refactor if it breaks"),
                       ("pipeline", "inspect → refactor → repair → tune → analyse, in one command")):
        p = sub.add_parser(name, help=text, usage=f"aft {name} [options] [target] [-- SCRIPT ARGS ...]",
                           epilog=SCRIPT_ARGS_HELP)
        p.add_argument("target", nargs="?", help="the training script")
        p.add_argument("--resume", metavar="SESSION", help="continue a session (see `aft sessions`)")
        p.add_argument("--smoke", help="extra flags for the smoke run, e.g. \"--epochs 1\"")
        p.add_argument("--smoke-timeout", dest="smoke_timeout", type=float, help="time limit of the smoke run (s)")
        add_run_options(p)

    p = sub.add_parser("research", help="experiments on the numbers and the code within a time budget; "
                                        "`aft research report|finalize` read a session's results",
                       usage="aft research [options] [target] [-- SCRIPT ARGS ...]\n"
                             "       aft research report [--session ID]\n"
                             "       aft research finalize [--session ID]", epilog=SCRIPT_ARGS_HELP)
    p.add_argument("target", nargs="?", help="the training script (or `report`, `finalize`)")
    p.add_argument("--resume", metavar="SESSION", help="continue a research session from its journal")
    p.add_argument("--session", help="report/finalize: the research session (default: the latest)")
    add_research_options(p)
    add_run_options(p)

    p = sub.add_parser("runs", help="list trials: params, metric, status, duration, commit")
    p.add_argument("--session", help="session id (default: latest)")
    p.add_argument("--all", action="store_true", help="every session's trials")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--project")

    p = sub.add_parser("compare", help="parameter, metric and code differences between two trials")
    p.add_argument("a", help="trial number or run id")
    p.add_argument("b", help="trial number or run id")
    p.add_argument("--session")
    p.add_argument("--project")

    p = sub.add_parser("rollback", help="make a trial's state the branch head with a new commit")
    p.add_argument("trial", help="trial number or run id")
    p.add_argument("--session")
    p.add_argument("--project")

    p = sub.add_parser("sessions", help="list sessions (resume one with `aft tune --resume ID`)")
    p.add_argument("--project")

    p = sub.add_parser("doctor", help="check Python, git, torch/CUDA, GPUs and LLM configuration")
    p.add_argument("--cluster", nargs="?", const="ray", metavar="ADDRESS",
                   help="also reach the Ray cluster (default: RAY_ADDRESS, else this machine's) and list its nodes")

    p = sub.add_parser("chat", help="the terminal UI: talk, approve diffs, watch trials, GPUs and runs",
                       usage="aft chat [options] [target] [-- SCRIPT ARGS ...]", epilog=SCRIPT_ARGS_HELP)
    p.add_argument("target", nargs="?", help="the training script")
    p.add_argument("--resume", metavar="SESSION", help="continue a session (see `aft sessions`)")
    p.add_argument("--plain", action="store_true",
                   help="line-by-line REPL instead of the full-screen UI (automatic without a terminal or with TERM=dumb)")
    p.add_argument("--smoke", help="extra flags for the smoke run, e.g. \"--epochs 1\"")
    p.add_argument("--smoke-timeout", dest="smoke_timeout", type=float, help="time limit of the smoke run (s)")
    add_run_options(p)

    p = sub.add_parser("replay", help="play a recorded session back, read-only (it never runs code)")
    p.add_argument("session", help="session file (.jsonl), session id, or bundled demo name such as demo-mlp")
    p.add_argument("--speed", type=float, default=1.0, help="playback speed multiplier (default 1)")
    p.add_argument("--plain", action="store_true", help="print the transcript instead of opening the UI")
    return parser


def _version() -> str:
    from aft_tui import __version__

    return f"aft {__version__}"


def _command(module: str, name: str) -> Callable[[argparse.Namespace], int]:
    """A command imported only when it runs, so `aft --help` stays fast."""

    def run(args: argparse.Namespace) -> int:
        return getattr(importlib.import_module(f"aft_tui.commands.{module}"), name)(args)

    run.__name__ = name
    return run


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "tune": _command("session", "cmd_session"),
    "refactor": _command("session", "cmd_session"),
    "repair": _command("session", "cmd_session"),
    "pipeline": _command("session", "cmd_session"),
    "inspect": _command("inspect", "cmd_inspect"),
    "runs": _command("records", "cmd_runs"),
    "compare": _command("records", "cmd_compare"),
    "rollback": _command("records", "cmd_rollback"),
    "sessions": _command("records", "cmd_sessions"),
    "doctor": _command("inspect", "cmd_doctor"),
    "chat": _command("session", "cmd_chat"),
    "replay": _command("inspect", "cmd_replay"),
    "research": _command("research", "cmd_research"),
}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    own, script_args = split_script_args(list(sys.argv[1:] if argv is None else argv))
    args = parser.parse_args(own)
    args.script_args = script_args
    if args.command is None:
        parser.print_help()
        return EXIT_OK
    if script_args is not None and args.command not in SCRIPT_ARG_COMMANDS:
        print(f"aft: `aft {args.command}` runs no script, so it takes no script arguments after `--`; "
              f"those go with {', '.join(f'`aft {c}`' for c in SCRIPT_ARG_COMMANDS)}.", file=sys.stderr)
        return EXIT_USAGE
    try:
        return COMMANDS[args.command](args)
    except UserError as exc:
        print(f"aft: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("aft: interrupted.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `aft runs | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except Exception as exc:  # a bug in AFT: one line for the person, the traceback in a file
        from aft_tui.redaction import redact

        path = _write_crash_report()
        print(redact(f"aft: internal error ({type(exc).__name__}: {exc}); details in {path}. Please report it."),
              file=sys.stderr)
        return EXIT_INTERNAL


def _write_crash_report() -> str:
    import tempfile
    import traceback

    from aft_tui.redaction import redact

    fd, path = tempfile.mkstemp(prefix="aft-crash-", suffix=".txt")
    with os.fdopen(fd, "w") as fh:  # people attach this file to a bug report: no secrets in it
        fh.write(redact(traceback.format_exc()))
    return path


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
