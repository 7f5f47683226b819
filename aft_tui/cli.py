"""`aft` entry point.

Start-up must stay fast: only argparse and this module load before a command is chosen;
each command imports what it needs. Errors meant for the person are `UserError`s, printed
as one line without a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any, Callable

from aft_tui.errors import UserError

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 70, 130


def _add_run_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("trials")
    g.add_argument("--trials", type=int, help="number of trials (default 8)")
    g.add_argument("--metric", help="objective the script reports, e.g. val_acc (default: AFT picks one and says which)")
    g.add_argument("--direction", choices=("min", "max"), help="whether the metric should go down or up")
    g.add_argument("--metric-window", dest="metric_window", type=int, metavar="N",
                   help="score a trial by the mean of the metric's last N reports instead of the last one "
                        "(for noisy per-episode or per-batch metrics, e.g. RL returns)")
    g.add_argument("--timeout", type=float, help="per-trial time limit in seconds")
    g.add_argument("--budget", type=float, help="wall-time budget for the whole run, in seconds")
    g.add_argument("--target-value", dest="target_value", type=float,
                   help="stop as soon as the objective reaches this value")
    g.add_argument("--patience", type=int, help="stop after this many trials without improvement")
    g.add_argument("--stagnation", type=int,
                   help="stop when the best improved by less than the run-to-run noise over this many trials")
    g.add_argument("--no-advice", dest="advice", action="store_false", default=None,
                   help="model-based strategies: no local moves from the best trial (plain sampler)")
    g.add_argument("--coordinate-trials", dest="coordinate_trials", type=int,
                   help="coordinate strategy: trials per parameter (default 3)")
    g.add_argument("--coordinate-time", dest="coordinate_time", type=float,
                   help="coordinate strategy: time limit per parameter in seconds")
    g.add_argument("--strategy", help="tpe (default), random, gp, cmaes, grid, coordinate, llm, hybrid")
    g.add_argument("--pruner", choices=("median", "hyperband", "none"), help="early stopping of hopeless trials")
    g.add_argument("--seed", type=int, help="seed for the strategy's sampler")
    g.add_argument("--parallel", type=int, help="trials to run at once (GPU slots when GPUs exist)")
    g.add_argument("--gpus-per-trial", type=int, dest="gpus_per_trial")
    g.add_argument("--params", help="comma-separated parameters to tune (default: all discovered)")
    g.add_argument("--model-path", dest="model_path", help="glob of the model file/folder a trial saves")
    e = p.add_argument_group("environment")
    e.add_argument("--python", help="interpreter to run the script with")
    e.add_argument("--venv", help="virtual environment to run the script in")
    e.add_argument("--conda", help="conda environment name to run the script in")
    e.add_argument("--prefix", help="launcher prefix, e.g. 'torchrun --nproc_per_node 2' or 'accelerate launch'")
    e.add_argument("--buffered-output", dest="buffered_output", action="store_true", default=None,
                   help="let Python block-buffer the script's output: fastest for scripts printing thousands of "
                        "lines a second, but logs and printed metrics then arrive in 8 KB blocks "
                        "(AFT_METRICS stays live)")
    e.add_argument("--outputs", help="outputs folder (default outputs/ in the project)")
    e.add_argument("--project", help="project root (default: the git repository or the script's folder)")
    t = p.add_argument_group("tracking")
    t.add_argument("--mlflow", metavar="URI", help="also record each trial as an MLflow run in this tracking store, "
                                                   "e.g. sqlite:///mlruns.db")
    t.add_argument("--mlflow-experiment", dest="mlflow_experiment", metavar="NAME",
                   help="MLflow experiment for the trials (default: <project>/<script>)")
    l = p.add_argument_group("assistant")
    l.add_argument("--model", help="LLM for the assistant (any litellm model string); default: offline brain")
    l.add_argument("--api-base", dest="api_base", help="base URL of an OpenAI-compatible server (Ollama, vLLM, ...)")
    p.add_argument("--yes", "-y", action="store_true", default=None, help="approve every proposal without asking")
    p.add_argument("--logs", action="store_true", help="stream trial output to the terminal")


_SETTING_KEYS = ("smoke", "smoke_timeout", "trials", "metric", "metric_window", "direction", "timeout", "budget", "target_value", "patience", "stagnation", "advice",
                 "coordinate_trials", "coordinate_time", "strategy", "pruner", "seed",
                 "parallel", "gpus_per_trial", "model_path", "python", "venv", "conda", "prefix", "buffered_output", "outputs", "model",
                 "api_base", "yes", "mlflow", "mlflow_experiment")


def _flags(args: argparse.Namespace) -> dict[str, Any]:
    flags = {k: getattr(args, k) for k in _SETTING_KEYS if getattr(args, k, None) is not None}
    if getattr(args, "script_args", None) is not None:
        flags["args"] = list(args.script_args)
    if getattr(args, "params", None):
        flags["params"] = [p.strip() for p in args.params.split(",") if p.strip()]
    return flags


# Commands that run (or read) the script and so take its own arguments after `--`.
SCRIPT_ARG_COMMANDS = ("tune", "inspect", "refactor", "repair", "pipeline", "chat")
_SCRIPT_ARGS_HELP = ("Arguments after `--` are your script's own, passed verbatim to every run, e.g. "
                     "`aft tune train.py -- --data ./data --epochs 3`: their values are the baseline (trial 1 and the "
                     "centre of every searched range), and AFT replaces the ones it tunes instead of passing them "
                     "twice. In aft.toml: args = [\"--data\", \"./data\"]; `--` on the command line wins.")


def split_script_args(argv: list[str]) -> tuple[list[str], list[str] | None]:
    """AFT's own options, and the script's arguments after the first `--` (None when there is no
    `--`), split before argparse sees them so the script's flags never reach AFT's parser."""
    if "--" not in argv:
        return list(argv), None
    at = argv.index("--")
    return list(argv[:at]), list(argv[at + 1:])


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aft",
        description="AFT (AutoFineTuner): tunes your working training script. "
                    "Every change and every trial is a git commit on a session branch.",
        usage="aft [-h] [--version] COMMAND ... [-- SCRIPT ARGS ...]",
        epilog=_SCRIPT_ARGS_HELP,
    )
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("tune", help="run trials on a script that takes its hyperparameters as flags",
                       usage="aft tune [options] [target] [-- SCRIPT ARGS ...]", epilog=_SCRIPT_ARGS_HELP)
    p.add_argument("target", nargs="?", help="the training script")
    p.add_argument("--resume", metavar="SESSION", help="resume a session (see `aft sessions`)")
    _add_run_options(p)

    p = sub.add_parser("inspect", help="list the script's tunable parameters, metrics, framework (read-only)",
                       usage="aft inspect [--json] target [-- SCRIPT ARGS ...]", epilog=_SCRIPT_ARGS_HELP)
    p.add_argument("target", help="the training script")
    p.add_argument("--json", action="store_true", help="machine-readable output")

    for name, text in (("refactor", "expose the script's hyperparameters as flags (a diff you approve)"),
                       ("repair", "smoke-run the script and repair AFT's refactor if it breaks"),
                       ("pipeline", "inspect → refactor → repair → tune → analyse, in one command")):
        p = sub.add_parser(name, help=text, usage=f"aft {name} [options] [target] [-- SCRIPT ARGS ...]",
                           epilog=_SCRIPT_ARGS_HELP)
        p.add_argument("target", nargs="?", help="the training script")
        p.add_argument("--resume", metavar="SESSION", help="continue a session (see `aft sessions`)")
        p.add_argument("--smoke", help="extra flags for the smoke run, e.g. \"--epochs 1\"")
        p.add_argument("--smoke-timeout", dest="smoke_timeout", type=float, help="time limit of the smoke run (s)")
        _add_run_options(p)

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

    sub.add_parser("doctor", help="check Python, git, torch/CUDA, GPUs and LLM configuration")

    p = sub.add_parser("chat", help="the terminal UI: talk, approve diffs, watch trials, GPUs and runs",
                       usage="aft chat [options] [target] [-- SCRIPT ARGS ...]", epilog=_SCRIPT_ARGS_HELP)
    p.add_argument("target", nargs="?", help="the training script")
    p.add_argument("--resume", metavar="SESSION", help="continue a session (see `aft sessions`)")
    p.add_argument("--plain", action="store_true",
                   help="line-by-line REPL instead of the full-screen UI (automatic without a terminal or with TERM=dumb)")
    p.add_argument("--smoke", help="extra flags for the smoke run, e.g. \"--epochs 1\"")
    p.add_argument("--smoke-timeout", dest="smoke_timeout", type=float, help="time limit of the smoke run (s)")
    _add_run_options(p)

    p = sub.add_parser("replay", help="play a recorded session back, read-only (it never runs code)")
    p.add_argument("session", help="session file (.jsonl), session id, or bundled demo name such as demo-mlp")
    p.add_argument("--speed", type=float, default=1.0, help="playback speed multiplier (default 1)")
    p.add_argument("--plain", action="store_true", help="print the transcript instead of opening the UI")
    return parser


def _version() -> str:
    from aft_tui import __version__

    return f"aft {__version__}"


def _project_root(explicit: str | None) -> Path:
    from aft_tui.engine.records import project_root

    return project_root(explicit)


# -- commands --------------------------------------------------------------------------------
def _open_engine(args: argparse.Namespace) -> Any:
    from aft_tui.engine.open import open_session

    return open_session(args.target, _flags(args), resume=args.resume, project=args.project,
                        no_target=f"aft {args.command} needs a target script, e.g. `aft {args.command} train.py`, "
                                  "or --resume SESSION.")


def cmd_session(args: argparse.Namespace) -> int:
    """tune / refactor / repair / pipeline: one engine, the headless view, Ctrl-C handled."""
    import asyncio

    from aft_tui.ui.headless import HeadlessView

    engine = _open_engine(args)
    view = HeadlessView(show_logs=args.logs)
    engine.subscribe(view)
    from aft_tui.tracking.mlflow_mirror import attach

    mirror = attach(engine)
    return asyncio.run(_run_session(engine, view, args.command, mirror))


async def _run_session(engine: Any, view: Any, command: str, mirror: Any = None) -> int:
    import asyncio
    import signal

    from aft_tui.ui.headless import HeadlessApprover, print_summary

    loop = asyncio.get_running_loop()
    interrupted = False

    def on_sigint() -> None:
        nonlocal interrupted
        if interrupted:
            return
        interrupted = True
        view.print("Interrupted: cancelling the running trial (it is recorded; resume with "
                   f"`aft {command} --resume {engine.session_id}`).", "yellow")
        engine.request_stop()
        approver.cancel()

    approver = HeadlessApprover(engine, view)
    engine.subscribe(approver)
    try:
        loop.add_signal_handler(signal.SIGINT, on_sigint)
        loop.add_signal_handler(signal.SIGTERM, on_sigint)
    except (NotImplementedError, RuntimeError):  # pragma: no cover - non-Unix
        pass
    summary: Any = None
    ok = True
    error: BaseException | None = None
    try:
        await engine.start()
        if command == "tune":
            summary = await engine.tune()
        elif command == "refactor":
            ok = await engine.refactor()
        elif command == "repair":
            ok = await engine.repair()
        else:
            summary = await engine.pipeline()
            ok = summary is not None
    except BaseException as exc:  # recorded in the session's status, then reported as usual
        error = exc
        raise
    finally:
        if mirror is not None:
            await mirror.aclose()
        view.close()
        engine.close("interrupted" if interrupted else "", error=error, ok=ok)
    if summary is not None:
        print_summary(view.console, summary)
    from aft_tui.ui.usage import usage_line, used

    if used(engine.llm_usage):
        view.console.print(usage_line(engine.llm_usage), highlight=False, markup=False)
    if interrupted:
        view.console.print(f"Resume with: aft {command} --resume {engine.session_id}", highlight=False)
        return EXIT_INTERRUPTED
    if summary is not None:
        # A session stopped by repeated failures did not do what was asked, even after a success.
        failed = summary.get("best") is None or summary.get("stopped_by_failure")
        return EXIT_FAILED if failed else EXIT_OK
    return EXIT_OK if ok else EXIT_FAILED


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


def _load_results(project: Path, session: str | None, all_sessions: bool = False) -> tuple[list[dict], str | None]:
    from aft_tui.engine.records import session_records

    records, sid = session_records(project, session, all_sessions)
    return records, sid or None


def cmd_runs(args: argparse.Namespace) -> int:
    from aft_tui.fsutil import json_text

    project = _project_root(args.project)
    results, session = _load_results(project, args.session, args.all)
    if args.json:  # strict JSON, NaN spelled as AFT's files spell it (a file written before may hold it bare)
        print(json_text(results))
        return EXIT_OK
    from rich.console import Console

    from aft_tui.ui.tables import runs_table

    console = Console()
    if not results:
        console.print(f"Session {session} has no trials yet." if session else "No trials yet.")
    else:
        from aft_tui.target.script_args import describe

        for line in sorted({describe(r.get("script_args") or []) for r in results if r.get("script_args")}):
            console.print(f"Script arguments: {line}", highlight=False, markup=False)
        console.print(runs_table(results, title=f"Trials of session {session}" if session else "All trials"))
    _print_llm_usage(console, project, session)
    return EXIT_OK


def _print_llm_usage(console: Any, project: Path, session: str | None) -> None:
    """The line under the runs table saying what the assistant's model cost (only when one was used);
    `session` None means every session of the project."""
    from aft_tui.ui.usage import add, session_usage, usage_line, used

    state_dir = project / ".aft"
    if session is not None:
        usage = session_usage(state_dir, session)
    else:
        from aft_tui.engine.session import list_session_ids

        usage = add(u for u in (session_usage(state_dir, sid) for sid in list_session_ids(state_dir)) if u)
    if used(usage):
        console.print(usage_line(usage), highlight=False, markup=False)


def cmd_compare(args: argparse.Namespace) -> int:
    from rich.console import Console

    from aft_tui.engine.records import compare_trials

    comparison = compare_trials(_project_root(args.project), args.session, args.a, args.b)
    Console().print(comparison.render_text(), highlight=False, markup=False)
    return EXIT_OK


def cmd_rollback(args: argparse.Namespace) -> int:
    from aft_tui.engine.records import rollback_trial

    sha, trial, branch = rollback_trial(_project_root(args.project), args.session, args.trial)
    print(f"Branch {branch} now holds trial {trial['number']}'s state in new commit {sha[:10]} (history kept).")
    return EXIT_OK


def cmd_sessions(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from aft_tui.engine.session import scan_sessions
    from aft_tui.ui.terminal_text import inert

    project = _project_root(args.project)
    sessions, damaged = scan_sessions(project / ".aft")
    for problem in damaged:  # one line each; the readable sessions are still listed
        print(f"aft: skipped {problem.path}: {problem.problem}; restore it from a backup or move it out of "
              f"{problem.path.parent}.", file=sys.stderr)
    console = Console()
    if not sessions:
        console.print(f"No AFT session in {project}; start one with `aft tune train.py`.")
        return EXIT_OK
    results, _ = _load_results(project, None, all_sessions=True)
    table = Table(title="Sessions (resume with: aft tune --resume ID)")
    for col in ("session", "target", "status", "trials", "best"):
        table.add_column(col)
    for s in sessions:
        mine = [r for r in results if r.get("session") == s.session_id and r.get("status") == "ok"]
        values = [r["value"] for r in mine if isinstance(r.get("value"), (int, float))]
        best = ""
        if values and s.metric:
            best = f"{s.metric}={(max if s.direction == 'max' else min)(values):.4g}"
        count = sum(1 for r in results if r.get("session") == s.session_id)
        # Plain text cells: a state file's strings are not Rich markup, nor escapes for the terminal.
        table.add_row(*(Text(inert(cell)) for cell in (s.session_id, s.target, s.status, str(count), best)))
    console.print(table)
    return EXIT_OK


def cmd_chat(args: argparse.Namespace) -> int:
    from aft_tui.ui.launch import run_chat

    return run_chat(args, _flags(args))


def cmd_replay(args: argparse.Namespace) -> int:
    from aft_tui.ui.launch import run_replay

    return run_replay(args)


def cmd_doctor(args: argparse.Namespace) -> int:
    from aft_tui.doctor import run_doctor

    return run_doctor()


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "tune": cmd_session,
    "refactor": cmd_session,
    "repair": cmd_session,
    "pipeline": cmd_session,
    "inspect": cmd_inspect,
    "runs": cmd_runs,
    "compare": cmd_compare,
    "rollback": cmd_rollback,
    "sessions": cmd_sessions,
    "doctor": cmd_doctor,
    "chat": cmd_chat,
    "replay": cmd_replay,
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
