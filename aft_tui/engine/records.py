"""Reading a project's recorded trials, for the commands that work without a live session
(`aft runs`, `aft compare`, `aft rollback`, and the same calls in the Python API)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aft_tui.errors import UserError


def project_root(project: str | Path | None) -> Path:
    """The project a command means: the one given, else the git repository or folder we are in."""
    if project is not None:
        return Path(project).resolve()
    from aft_tui.engine.target_info import git_toplevel

    return git_toplevel(Path.cwd()) or Path.cwd().resolve()


def session_records(root: Path, session: str | None, all_sessions: bool = False) -> tuple[list[dict[str, Any]], str]:
    """Trial records of `session` (default: the latest session) from outputs/results.json."""
    from aft_tui.engine.session import list_session_ids
    from aft_tui.runs.outputs import Outputs
    from aft_tui.settings import load_settings

    outputs = Path(load_settings(root).outputs)
    folder = outputs if outputs.is_absolute() else root / outputs
    records = Outputs(folder, recover=lambda: noted_records(root, root / ".aft", folder)).results()
    if all_sessions:
        return records, ""
    if session is None:
        ids = list_session_ids(root / ".aft")
        if not ids:
            raise UserError(f"No AFT session in {root}; start one with `aft tune train.py`.")
        session = ids[-1]
    return [r for r in records if r.get("session") == session], session


def noted_records(project: Path, state_dir: Path, outputs: Path) -> list[dict[str, Any]]:
    """This project's trial records as the git notes and trial commits hold them.

    The third copy of each record (after outputs/results.json and outputs/<run-id>/result.json),
    used to rebuild results.json when it is damaged and a run folder is gone. A note holds the
    result and the commit's parameters file the rest of what identifies the trial; the record says
    where it came from. Only sessions of this project count (a repository may hold several).
    """
    from aft_tui.engine.session import list_sessions
    from aft_tui.vcs.trial_notes import noted_trials

    sessions = {s.session_id: s for s in list_sessions(state_dir)}
    records: list[dict[str, Any]] = []
    for commit, note, params_file in noted_trials(project, state_dir):
        session, number = params_file.get("session"), params_file.get("trial")
        run_id = params_file.get("run_id") or note.get("run_id")
        if session not in sessions or not isinstance(number, int) or not isinstance(run_id, str):
            continue
        state = sessions[session]
        value = note.get("value")
        records.append({
            "run_id": run_id, "session": session, "number": number, "optuna_trial": number - 1,
            "status": note.get("status"), "reason": note.get("reason") or "",
            "params": note.get("params") or params_file.get("params") or {}, "fixed": params_file.get("fixed") or {},
            "metric": note.get("metric") or state.metric, "direction": state.direction,
            "value": value, "final": value, "best": note.get("best"), "duration": note.get("duration") or 0.0,
            "commit": commit, "tag": f"aft/{session}/trial-{number:03d}",
            "script_args": note.get("script_args") or params_file.get("script_args") or [],
            "strategy": params_file.get("strategy"), "rationale": params_file.get("rationale"),
            "log": str(Path(outputs) / run_id / f"{run_id}.log"), "validation": value,
            "recovered_from": f"the git note on commit {commit[:10]}",
        })
    return records


def pick(records: list[dict[str, Any]], ref: str | int, session: str) -> dict[str, Any]:
    """A trial by number (3, "3", "t003", "#3") or run id."""
    text = str(ref).strip().lstrip("#")
    for r in records:
        if r.get("run_id") == text:
            return r
    number = text.lstrip("t").lstrip("0") or "0"
    for r in records:
        if str(r.get("number")) == number:
            return r
    known = ", ".join(str(r.get("number")) for r in records) or "none yet"
    raise UserError(f"No trial '{ref}' in session {session}; its trials are: {known}.")


def compare_trials(root: Path, session: str | None, a: str | int, b: str | int) -> Any:
    from aft_tui.vcs.compare import compare
    from aft_tui.vcs.workspace import Workspace

    records, sid = session_records(root, session)
    ra, rb = pick(records, a, sid), pick(records, b, sid)
    ws = Workspace.open(root, sid, root / ".aft")
    return compare(ws, ra["commit"], rb["commit"], ra.get("params", {}), rb.get("params", {}),
                   _metric(ra), _metric(rb))


def _metric(record: dict[str, Any]) -> dict[str, Any]:
    return {record["metric"]: record.get("value")} if record.get("metric") else {}


def rollback_trial(root: Path, session: str | None, ref: str | int) -> tuple[str, dict[str, Any], str]:
    """New commit on the session branch restoring a trial's tree; recorded in the session log."""
    from aft_tui.engine import events as ev
    from aft_tui.engine.session import log_path
    from aft_tui.engine.session_log import SessionLog
    from aft_tui.vcs.workspace import Workspace

    records, sid = session_records(root, session)
    record = pick(records, ref, sid)
    ws = Workspace.open(root, sid, root / ".aft")
    message = f"rollback to trial {record['number']} ({record['run_id']})"
    sha = ws.rollback(record["commit"], message)
    with SessionLog(log_path(root / ".aft", sid)) as log:
        log.append(ev.Rollback(to_run=record["run_id"], sha=sha))
        log.append(ev.CommitMade(sha=sha, message=message, branch=ws.branch))
    return sha, record, ws.branch
