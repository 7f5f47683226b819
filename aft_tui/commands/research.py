"""`aft research`: a research session (engine/research/), and `aft research report|finalize`,
which read one back."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from aft_tui.errors import EXIT_OK, UserError

SUBCOMMANDS = ("report", "finalize")


def cmd_research(args: argparse.Namespace) -> int:
    if args.target in SUBCOMMANDS and not Path(args.target).is_file():
        if args.script_args is not None:
            raise UserError(f"`aft research {args.target}` runs no script, so it takes no arguments after `--`.")
        return _report(args) if args.target == "report" else _finalize(args)
    import asyncio

    from aft_tui.commands.options import flags_of
    from aft_tui.commands.session import _open_engine, _run_session
    from aft_tui.ui.headless import HeadlessView

    options = research_options(args)
    flags = flags_of(args)
    if options.approve == "all":
        flags["yes"] = True
    if options.hours:
        flags["budget"] = options.hours * 3600
    if args.model and "strategy" not in flags and not args.resume:
        flags["strategy"] = "hybrid"  # the optimizer proposes, the model overrides some proposals
    args.yes = flags.get("yes")
    from aft_tui.engine.open import open_session

    engine = open_session(args.target, flags, resume=args.resume, project=args.project,
                          no_target="aft research needs a target script, e.g. `aft research train.py`, or --resume SESSION.")
    _check_files(engine, options)
    view = HeadlessView(show_logs=args.logs)
    engine.subscribe(view)
    from aft_tui.tracking.mlflow_mirror import attach

    mirror = attach(engine)
    code = asyncio.run(_run_session(engine, view, "research", mirror, research=options))
    return code


def research_options(args: argparse.Namespace) -> Any:
    """The options, checked before anything is created: a bad value names itself and the fix."""
    from aft_tui.engine.research.options import ResearchOptions, parse_duration

    if args.hours is not None and not args.hours > 0:
        raise UserError(f"--hours must be a positive number of hours (got {args.hours:g}).")
    for flag, value in (("--patience", args.patience), ("--stagnation", args.stagnation)):
        if value is not None:
            raise UserError(f"{flag} belongs to `aft tune`; research keeps going until its budget (--hours, "
                            "--experiments) and turns to code changes when the numbers stop improving.")
    for flag, value in (("--experiments", args.experiments), ("--trials", args.trials)):
        if value is not None and value < 1:
            raise UserError(f"{flag} must be at least 1 (got {value}).")
    return ResearchOptions(hours=args.hours, experiment_time=parse_duration(args.experiment_time),
                           experiments=args.experiments or args.trials, editable=list(args.editable or []),
                           read_only=list(args.read_only or []), approve=args.approve or ("all" if args.yes else "numeric"),
                           notify=args.notify)


def _check_files(engine: Any, options: Any) -> None:
    """--editable and --read-only name files of the project, relative to it as code changes are."""
    project = engine.info.project.resolve()
    for flag, names in (("--editable", options.editable), ("--read-only", options.read_only)):
        cleaned = []
        for name in names:
            path = Path(name)
            path = (path if path.is_absolute() else Path.cwd() / path).resolve()
            try:
                rel = path.relative_to(project)
            except ValueError:
                raise UserError(f"{flag} {name} is outside the project {project}; name a file inside it.") from None
            if not path.is_file():
                raise UserError(f"{flag} {name} is not a file of the project; check the path.")
            cleaned.append(rel.as_posix())
        names[:] = cleaned
    script = str(engine.info.rel_script)
    if options.editable and script not in options.editable:
        options.editable.insert(0, script)
    if script in options.read_only:
        raise UserError(f"{script} is the script research changes; it cannot also be --read-only.")


def _report(args: argparse.Namespace) -> int:
    from aft_tui.engine.records import project_root
    from aft_tui.engine.research.report import build_report, write_report

    project = project_root(args.project)
    report = build_report(project, args.session)
    paths = write_report(report, report.folder)
    print(report.text())
    for path in paths:
        print(f"Wrote {path}")
    return EXIT_OK


def _finalize(args: argparse.Namespace) -> int:
    from aft_tui.engine.records import project_root
    from aft_tui.engine.research.finalize import finalize

    result = finalize(project_root(args.project), args.session)
    print(result.text())
    return EXIT_OK
