"""AFT from Python: the `aft` commands as plain functions, for notebooks and scripts.

    import aft_tui.api as aft

    aft.inspect("train.py")                                  # what is tunable (read-only)
    summary = aft.pipeline("train.py", trials=3)             # refactor, repair, tune, analyse
    aft.runs()                                               # the trials, as dicts
    print(aft.compare(1, 2).render_text())                   # params, metrics and code diff
    aft.rollback(summary["best"]["number"])                  # new commit with that trial's state
    aft.replay(summary["session"])                           # the recorded events, never re-run

Each call that runs something opens an engine on a new session (or resumes one with
`resume=SESSION_ID`), drives it to the end and closes it, exactly as the command of the same
name does; the functions add no behaviour of their own. Engine events are printed as the
headless CLI prints them, or handed to `on_event`, always on the caller's thread.

The engine is asyncio code. Called where no event loop runs (a script), a function runs its
own loop; called inside a running loop (Jupyter, IPython), it runs the engine's loop in a
worker thread and waits, so `tune(...)` blocks the cell like any long computation.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Awaitable, Callable, TYPE_CHECKING, TypeVar

from aft_tui.api_runner import EngineRunner, EventCallback

if TYPE_CHECKING:
    from aft_tui.engine.engine import Engine

T = TypeVar("T")
# Called with a Proposal when yes=False; returns True to approve, False to reject, or a
# sentence that rejects it with that feedback.
Approver = Callable[[Any], "bool | str"]

__all__ = ["inspect", "refactor", "repair", "tune", "pipeline", "runs", "sessions", "compare", "rollback", "replay"]


# -- commands that run the workflow ----------------------------------------------------------
def inspect(target: str | Path, *, project: str | Path | None = None, args: list[str] | None = None) -> Any:
    """The script's tunable parameters, metrics and framework, like `aft inspect` (read-only).

    `args` are the script's own arguments (`aft inspect train.py -- ...`): their values are the
    parameters' defaults, and config files they name are read too. None: `args` of aft.toml.
    """
    from aft_tui.engine.target_info import resolve_target
    from aft_tui.settings import Settings, load_settings
    from aft_tui.target.script_args import discover_with_args

    info = resolve_target(target, project=project)
    checked = Settings()
    if args is not None:
        checked.update({"args": args}, "the arguments")
    script_args = checked.args if args is not None else load_settings(info.project).args
    return discover_with_args(info.script, script_args, Path.cwd())


def refactor(target: str | Path | None = None, *, args: list[str] | None = None, resume: str | None = None,
             project: str | Path | None = None, yes: bool = True, approve: Approver | None = None, on_event: EventCallback | None = None,
             quiet: bool = False, logs: bool = False, **settings: Any) -> dict[str, Any]:
    """Expose the script's hyperparameters as flags (`aft refactor`).

    Returns {"ok", "session", "project", "branch", "script"}; `script` is the refactored file
    in the session's worktree (your working copy is never changed). Tune it with
    `tune(resume=result["session"], project=result["project"])`. `args`: as for `tune`.
    """
    return _workflow_step("refactor", target, resume, project, dict(settings, args=args), yes, approve, on_event,
                          quiet, logs)


def repair(target: str | Path | None = None, *, args: list[str] | None = None, resume: str | None = None,
           project: str | Path | None = None, yes: bool = True, approve: Approver | None = None, on_event: EventCallback | None = None,
           quiet: bool = False, logs: bool = False, **settings: Any) -> dict[str, Any]:
    """Smoke-run the script and repair AFT's refactor if it breaks (`aft repair`); same result as refactor."""
    return _workflow_step("repair", target, resume, project, dict(settings, args=args), yes, approve, on_event,
                          quiet, logs)


def tune(target: str | Path | None = None, *, args: list[str] | None = None, trials: int | None = None,
         metric: str | None = None,
         direction: str | None = None, resume: str | None = None, project: str | Path | None = None,
         yes: bool = True, approve: Approver | None = None, on_event: EventCallback | None = None,
         quiet: bool = False, logs: bool = False, **settings: Any) -> dict[str, Any]:
    """Run trials on a script that takes its hyperparameters as flags (`aft tune`).

    Keyword settings are those of aft.toml and the command line (strategy="random",
    params=["lr"], timeout=60, mlflow="sqlite:///mlruns.db", ...). Returns the engine's
    summary: session, branch, metric, direction, trials, statuses, best (the best trial's
    record), defaults_value, end_reason.

    `args` are the script's own arguments, as after `--` on the command line
    (`args=["--data", "d.csv", "--lr", "5e-4"]`): passed to every trial, the baseline of the
    search (trial 1 and the centre of each range); AFT replaces the ones it tunes.
    """
    flags = dict(settings, trials=trials, metric=metric, direction=direction, args=args)
    return _run_session(target, resume, project, flags, yes, approve, on_event, quiet, logs,
                        lambda engine: engine.tune())


def pipeline(target: str | Path | None = None, *, args: list[str] | None = None, trials: int | None = None,
             metric: str | None = None,
             direction: str | None = None, resume: str | None = None, project: str | Path | None = None,
             yes: bool = True, approve: Approver | None = None, on_event: EventCallback | None = None,
             quiet: bool = False, logs: bool = False, **settings: Any) -> dict[str, Any]:
    """inspect → refactor → repair → tune → analyse in one session (`aft pipeline`).

    Returns the tuning summary, or, when the script could not be made tunable,
    {"session", "branch", "best": None, "trials": 0, "end_reason": "not tunable"}. `args`: as for `tune`.
    """
    flags = dict(settings, trials=trials, metric=metric, direction=direction, args=args)

    async def run(engine: Engine) -> dict[str, Any]:
        summary = await engine.pipeline()
        if summary is not None:
            return summary
        return {"session": engine.session_id, "branch": engine.workspace.branch, "best": None, "trials": 0,
                "end_reason": "not tunable"}

    return _run_session(target, resume, project, flags, yes, approve, on_event, quiet, logs, run)


def _workflow_step(command: str, target: Any, resume: str | None, project: Any, settings: dict[str, Any], yes: bool,
                   approve: Approver | None, on_event: EventCallback | None, quiet: bool, logs: bool) -> dict[str, Any]:
    async def run(engine: Engine) -> dict[str, Any]:
        ok = await (engine.refactor() if command == "refactor" else engine.repair())
        return {"ok": ok, "session": engine.session_id, "project": str(engine.info.project),
                "branch": engine.workspace.branch, "script": str(engine.work_script)}

    return _run_session(target, resume, project, settings, yes, approve, on_event, quiet, logs, run)


# -- read-only views of a project's sessions ---------------------------------------------------
def runs(project: str | Path | None = None, session: str | None = None, *,
         all_sessions: bool = False) -> list[dict[str, Any]]:
    """The trials of a session (default: the latest), as the records in outputs/results.json."""
    root = _project_root(project)
    return _session_records(root, session, all_sessions)[0]


def sessions(project: str | Path | None = None) -> list[dict[str, Any]]:
    """The project's sessions, oldest first: id, target, status, objective, trial count, best value."""
    import warnings

    from aft_tui.engine.session import scan_sessions

    root = _project_root(project)
    records = _session_records(root, None, all_sessions=True)[0]
    readable, damaged = scan_sessions(root / ".aft")
    for problem in damaged:  # named, like `aft sessions` does on stderr; the others are listed
        warnings.warn(f"{problem.path} is damaged ({problem.problem}); that session is left out.", stacklevel=2)
    out = []
    for s in readable:
        mine = [r for r in records if r.get("session") == s.session_id]
        values = [r["value"] for r in mine if r.get("status") == "ok" and isinstance(r.get("value"), (int, float))]
        best = (max if s.direction == "max" else min)(values) if values and s.metric else None
        out.append({"session": s.session_id, "target": s.target, "status": s.status, "metric": s.metric,
                    "direction": s.direction, "trials": len(mine), "best": best, "created": s.created,
                    "updated": s.updated})
    return out


def compare(a: str | int, b: str | int, project: str | Path | None = None, session: str | None = None) -> Any:
    """Parameter, metric and code differences between two trials (`aft compare`).

    Returns a Comparison; `.render_text()` is what the command prints.
    """
    from aft_tui.engine.records import compare_trials

    return compare_trials(_project_root(project), session, a, b)


def rollback(trial: str | int, project: str | Path | None = None, session: str | None = None) -> str:
    """Make a trial's state the session branch's head with a new commit (`aft rollback`); returns its sha."""
    from aft_tui.engine.records import rollback_trial

    return rollback_trial(_project_root(project), session, trial)[0]


def replay(session: str | Path, *, project: str | Path | None = None, echo: bool = False) -> list[Any]:
    """A recorded session's events (`aft replay`): a session id, a .jsonl file or a bundled demo.

    Read-only: nothing is executed. `echo=True` also prints the transcript.
    """
    from aft_tui.ui.replay import load_events, resolve_session

    events = load_events(resolve_session(str(session), cwd=Path(project).resolve() if project else None))
    if echo:
        from aft_tui.ui.plain import print_transcript

        print_transcript(events)
    return events


def _project_root(project: str | Path | None) -> Path:
    from aft_tui.engine.records import project_root

    return project_root(project)


def _session_records(root: Path, session: str | None, all_sessions: bool = False) -> tuple[list[dict[str, Any]], str]:
    from aft_tui.engine.records import session_records

    return session_records(root, session, all_sessions)


# -- running an engine to completion -----------------------------------------------------------------
def _run_session(target: Any, resume: str | None, project: Any, flags: dict[str, Any], yes: bool,
                 approve: Approver | None, on_event: EventCallback | None, quiet: bool, logs: bool,
                 body: Callable[[Any], Awaitable[T]]) -> T:
    from aft_tui.tracking.mlflow_mirror import attach

    from aft_tui.engine.open import open_session

    engine = open_session(target, dict(flags, yes=yes), resume=resume, project=project, source="the arguments",
                          no_target="No target given; pass the training script, e.g. aft.tune('train.py'), "
                                    "or resume=SESSION_ID.")
    sink = on_event if on_event is not None else (None if quiet else _default_printer(logs))
    runner = EngineRunner(engine, sink)
    mirror = attach(engine)

    async def main() -> T:
        runner.bind_loop()
        engine.subscribe(_approver(engine, approve, runner.fail))
        error: BaseException | None = None
        result: Any = None
        try:
            await engine.start()
            result = await body(engine)
            return result
        except BaseException as exc:  # recorded in the session's status, then raised as usual
            error = exc
            raise
        finally:
            if mirror is not None:
                await mirror.aclose()
            engine.close("interrupted" if runner.interrupted else "", error=error, ok=_succeeded(result))

    return runner.run(main)


def _succeeded(result: Any) -> bool:
    """Whether a command's result says it did what was asked (a refactor made, a pipeline that
    reached tuning); a tuning summary is a success even when no trial beat the defaults."""
    if isinstance(result, dict):
        return result.get("ok", True) is not False and result.get("end_reason") != "not tunable"
    return True


def _default_printer(logs: bool) -> EventCallback:
    from aft_tui.ui.headless import HeadlessView

    return HeadlessView(show_logs=logs, progress=False)


def _approver(engine: Engine, approve: Approver | None, fail: Callable[[BaseException], None]) -> EventCallback:
    """Decides proposals that --yes did not: `approve(proposal)`, or ask on a terminal as the CLI does."""
    if approve is None:
        from aft_tui.ui.headless import HeadlessApprover, HeadlessView

        return HeadlessApprover(engine, HeadlessView(progress=False))
    from aft_tui.engine import events as ev

    async def decide(proposal: Any) -> None:
        await asyncio.sleep(0)  # the engine registers the pending proposal after emitting it
        if proposal.proposal_id not in engine.pending_proposals:
            return
        try:
            answer = approve(proposal)
        except Exception as exc:  # a broken callback must not leave the engine waiting forever
            engine.decide(proposal.proposal_id, False, f"approve() raised {type(exc).__name__}")
            fail(exc)
            return
        if isinstance(answer, str):
            engine.decide(proposal.proposal_id, False, answer)
        else:
            engine.decide(proposal.proposal_id, bool(answer))

    def on_event(event: Any) -> None:
        if isinstance(event, ev.Proposal):
            asyncio.get_running_loop().create_task(decide(event))

    return on_event
