"""`aft tune`, `refactor`, `repair`, `pipeline` and `chat`: the commands that open an engine."""

from __future__ import annotations

import argparse
from typing import Any, TYPE_CHECKING

from aft_tui.commands.options import flags_of
from aft_tui.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK

if TYPE_CHECKING:
    from aft_tui.engine.engine import Engine


def _open_engine(args: argparse.Namespace) -> Any:
    from aft_tui.engine.open import open_session

    return open_session(args.target, flags_of(args), resume=args.resume, project=args.project,
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


async def _run_session(engine: Engine, view: Any, command: str, mirror: Any = None, research: Any = None) -> int:
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
        elif command == "research":
            from aft_tui.engine.research.session import run_research

            summary = await run_research(engine, research)
            ok = summary is not None
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


def cmd_chat(args: argparse.Namespace) -> int:
    from aft_tui.ui.launch import run_chat

    return run_chat(args, flags_of(args))
