"""`aft runs`, `sessions`, `compare` and `rollback`: what sessions recorded, read from outputs/,
the session files and git."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from aft_tui.errors import EXIT_OK


def _project_root(explicit: str | None) -> Path:
    from aft_tui.engine.records import project_root

    return project_root(explicit)


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
