"""The engine: the one command surface every view drives.

It owns a session (id, log, workspace branch, outputs) and exposes coroutines for the
workflow steps. It emits typed events to subscribers and never imports UI code.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from aft_tui.engine import events as ev
from aft_tui.engine.input_checks import check_new_session, check_settings
from aft_tui.engine.session import SessionState, log_path, new_session_id, state_path
from aft_tui.engine.conversation import Conversation
from aft_tui.engine.log_budget import LogBudget
from aft_tui.engine.proposals import Proposals, highest_proposal_number
from aft_tui.engine.session_log import SessionLog
from aft_tui.engine.target_info import TargetInfo, resolve_target
from aft_tui.errors import UserError
from aft_tui.runs.interpreter import Interpreter
from aft_tui.runs.outputs import Outputs
from aft_tui.settings import Settings
from aft_tui.target.script_args import describe as describe_args

if TYPE_CHECKING:
    from aft_tui.engine.tuner import Tuner

Subscriber = Callable[[ev.Event], None]


class Engine(Proposals, Conversation):
    def __init__(self, info: TargetInfo, settings: Settings, state: SessionState, state_dir: Path) -> None:
        self.info = info
        self.settings = settings
        self.state = state
        self.state_dir = state_dir
        self.session_id = state.session_id
        outputs = Path(settings.outputs)
        self.outputs = Outputs(outputs if outputs.is_absolute() else info.project / outputs)
        self.interpreter = Interpreter.from_options(python=settings.python, venv=settings.venv,
                                                    conda=settings.conda, prefix=settings.prefix,
                                                    unbuffered=not settings.buffered_output)
        self._subscribers: list[Subscriber] = []
        self._log: SessionLog | None = None
        self._log_budget = LogBudget(self.outputs, info.project)
        self._workspace: Any = None
        self._pending: dict[str, asyncio.Future] = {}
        self._proposal_ids = itertools.count(1)
        self._message_ids = itertools.count(1)  # apart from proposals, so those read p1, p2, p3
        self.stop_requested = False
        self._created_here = False  # start() made the session's branch and worktree (not a resume)
        self.tuner: Tuner | None = None  # the tuning run of this session, once one started
        # A passing smoke run of the refactored script with no extra flags ran exactly the
        # defaults: the tuner takes it as trial 1 instead of training the same thing again.
        self.baseline_run: Any = None
        # Variables every run of the script gets besides the trial protocol's (research mode's
        # AFT_TIME_BUDGET), so smoke runs and trials see the same environment.
        self.trial_env: dict[str, str] = {}
        self.cluster_plan: Any = None  # with --cluster: where trials run (runs/cluster/plan.py), settled once

    # -- construction ----------------------------------------------------------
    @classmethod
    def open(cls, target: str | Path | None, settings: Settings, *, session_id: str | None = None,
             resume: bool = False, project: str | Path | None = None, cwd: Path | None = None) -> "Engine":
        """Start a new session on `target`, or reopen `session_id` when resuming."""
        if resume:
            if session_id is None:
                raise UserError("Resuming needs a session id; run `aft sessions` to list them.")
            from aft_tui.engine.target_info import git_toplevel

            base = Path(project).resolve() if project else (git_toplevel(Path(cwd or Path.cwd())) or Path(cwd or Path.cwd()).resolve())
            state_dir = base / ".aft"
            state = SessionState.load(state_dir, session_id)
            if state.running_elsewhere():  # two AFTs committing to one branch would tangle it
                raise UserError(f"Session {session_id} is running in another AFT (process {state.owner_pid}); "
                                "wait for it to finish or stop it (Ctrl-C there), then resume.")
            info = resolve_target(Path(state.project) / state.target, project=state.project, cwd=Path(state.project) / state.cwd)
            merged = Settings()
            merged.update({k: v for k, v in state.settings.items() if v is not None}, "the saved session")
            # The script's arguments are the session's baseline: a resume runs with the same ones.
            if settings.args and list(settings.args) != list(state.args):
                recorded = describe_args(state.args) or "none"
                raise UserError(f"Session {session_id} runs the script with the arguments {recorded}; a resume keeps "
                                f"them, so start a new session (without --resume) to use {describe_args(settings.args)}.")
            # Flags given on the resume command line win (e.g. more trials).
            defaults = Settings().to_dict()
            merged.update({k: v for k, v in settings.to_dict().items() if v != defaults.get(k)}, "the command line")
            merged.args = list(state.args)
            check_settings(merged)
            engine = cls(info, merged, state, state_dir)
        else:
            if target is None:
                raise UserError("No target given; pass your training script, e.g. `aft tune train.py`.")
            info = resolve_target(target, project=project, cwd=cwd)
            # Bad input is refused before the session exists: no branch, worktree or state file is left.
            check_new_session(info, settings)
            state_dir = info.project / ".aft"
            sid = session_id or new_session_id()
            state = SessionState(session_id=sid, project=str(info.project), target=str(info.rel_script),
                                 cwd=str(info.rel_cwd), settings=settings.to_dict(), args=list(settings.args))
            engine = cls(info, settings, state, state_dir)
        engine.interpreter.check()
        engine.outputs.ensure_writable()
        return engine

    async def start(self) -> None:
        """Create or reopen the workspace and the session log."""
        from aft_tui.vcs.workspace import Workspace

        resumed = self.state.status != "new"
        self._created_here = not resumed
        self.state_dir.mkdir(parents=True, exist_ok=True)
        path = log_path(self.state_dir, self.session_id)
        if resumed:  # ids go on from the recorded ones: a second "p1" would stand for two proposals
            self._proposal_ids = itertools.count(await asyncio.to_thread(highest_proposal_number, path) + 1)
            self._workspace = await asyncio.to_thread(Workspace.open, self.info.project, self.session_id, self.state_dir)
        else:
            self._workspace = await asyncio.to_thread(Workspace.create, self.info.project, self.session_id, self.state_dir)
        # The log is opened once the workspace exists: a refused start leaves no empty log behind.
        self._log = SessionLog(path)
        self._share_outputs()
        self.state.claim()
        self.state.save(self.state_dir)
        self.emit(ev.SessionStarted(session_id=self.session_id, target=self.state.target, project=self.state.project,
                                    branch=self._workspace.branch, worktree=str(self._workspace.path), resumed=resumed,
                                    settings=_public_settings(self.settings)))
        if resumed:  # before anything of the resumed session runs: nothing trains beside a leftover
            from aft_tui.engine import inflight

            for sentence in await asyncio.to_thread(inflight.stop_leftovers, self.state_dir, self.session_id):
                self.info_message(sentence)
        if getattr(self._workspace, "prefix_note", ""):
            self.info_message(self._workspace.prefix_note)
        if self.script_args:
            self.info_message(f"The script runs with your arguments: {describe_args(self.script_args)} (the baseline; "
                              "AFT replaces the ones it tunes).")

    def _share_outputs(self) -> None:
        """outputs/ may be shared with sessions running beside this one: its file warnings go to
        this session's views (and log), and a damaged results.json can be rebuilt from the git
        notes too. Before the session starts they go to stderr."""
        from aft_tui.engine.records import noted_records

        self.outputs.warn = self.info_message
        self.outputs.recover = lambda: noted_records(self.info.project, self.state_dir, self.outputs.root)

    # -- events ----------------------------------------------------------------
    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback)

    def emit(self, event: ev.Event) -> None:
        if self._log is not None:
            logged = self._log_budget.for_log(event)
            if logged is not None:
                self._log.append(logged)
        for callback in list(self._subscribers):
            callback(event)

    def change_settings(self, values: dict[str, Any], origin: str) -> None:
        """Change settings mid-session: kept for a resume, and told to every view (and the replay)."""
        self.settings.update(values, origin)
        self.state.settings.update({k: v for k, v in self.settings.to_dict().items() if k in values})
        self.state.save(self.state_dir)
        public = _public_settings(self.settings)
        self.emit(ev.SettingsChanged(values={k: public.get(k) for k in values}, origin=origin))

    def info_message(self, text: str) -> None:
        self.emit(ev.Info(text=text))

    def error_message(self, text: str) -> None:
        self.emit(ev.ErrorEvent(message=text))

    # -- workspace paths ---------------------------------------------------------
    @property
    def workspace(self) -> Any:
        if self._workspace is None:
            raise RuntimeError("Engine.start() must be awaited first")
        return self._workspace

    @property
    def work_root(self) -> Path:
        """The project root inside the session worktree."""
        ws = self.workspace
        sub = getattr(ws, "subdir", Path("."))
        return Path(ws.path) / sub

    @property
    def script_args(self) -> list[str]:
        """The person's own arguments to the script, passed to every run of it."""
        return list(self.settings.args or [])

    def discover(self) -> Any:
        """Discovery of the worktree script as the person runs it (their arguments and the config
        files those name included)."""
        from aft_tui.target.script_args import discover_with_args

        return discover_with_args(self.work_script, self.script_args, self.trial_cwd)

    @property
    def trial_cwd(self) -> Path:
        return self.work_root / self.info.rel_cwd

    @property
    def work_script(self) -> Path:
        return self.work_root / self.info.rel_script

    def connect_cluster(self) -> Any:
        """With --cluster: connect and settle the plan (once); None without. Blocking: call it in a thread."""
        if self.settings.cluster and self.cluster_plan is None:
            from aft_tui.runs.cluster.plan import plan_cluster
            self.cluster_plan = plan_cluster(self.settings, self.info.project)
        return self.cluster_plan

    def trial_spec(self, run_id: str, number: int, params: dict[str, Any], command: list[str], *,
                   timeout: float | None, gpus: list[int] | None, omp_threads: int, commit: str | None = None) -> Any:
        """How every run of the script is launched, so a smoke run of the defaults is the same run trial 1
        would have been. A trial (with its `commit`) runs on the session's cluster, if any; smoke runs here."""
        from aft_tui.engine.trial import TrialSpec

        cwd = self.trial_cwd
        cluster = None if self.cluster_plan is None or commit is None else self.cluster_plan.launch(
            run_id=run_id, commit=commit, worktree=Path(self.workspace.path), work_root=self.work_root, cwd=cwd,
            default_python=self.interpreter.is_own)
        return TrialSpec(cluster=cluster, run_id=run_id, number=number, params=params, command=command, cwd=cwd,
                         run_dir=self.outputs.run_dir(run_id), log_path=self.outputs.log_path(run_id),
                         metrics_path=self.outputs.metrics_path(run_id), timeout=timeout, gpus=gpus,
                         omp_threads=omp_threads, model_path=self.settings.model_path,
                         unbuffered=not self.settings.buffered_output, param_names=self.param_names(),
                         metric_window=self.settings.metric_window,
                         artifact_dirs=[self.work_script.parent] if self.work_script.parent != cwd else [],
                         env=dict(self.trial_env))

    def param_names(self) -> tuple[str, ...]:
        """The names and flags of the script's settings known to the session: its search space and
        the parameters discovery found (printed, they are settings, not metrics)."""
        names: list[str] = []
        space = self.state.space or {}
        for dim in [*space.get("dims", []), *space.get("fixed_dims", [])]:
            names.extend(v for v in (dim.get("name"), dim.get("flag")) if isinstance(v, str) and v)
        names.extend(str(k) for k in space.get("fixed", {}) or {})
        discovery = (self.state.notes or {}).get("discovery") or {}
        for param in discovery.get("params", []) if isinstance(discovery, dict) else []:
            if isinstance(param, dict):
                names.extend(v for v in (param.get("name"), param.get("flag")) if isinstance(v, str) and v)
        return tuple(dict.fromkeys(names))

    def first_slot(self) -> tuple[list[int] | None, int]:
        """The GPUs and OpenMP threads of the first trial slot."""
        from aft_tui.runs import slots

        assigned = slots.assign_slots(self.settings.parallel or 1, self.settings.gpus_per_trial or 1, slots.gpu_ids())
        return assigned[0], slots.threads_per_trial(len(assigned))

    # -- workflow steps ----------------------------------------------------------
    async def tune(self, trials: int | None = None) -> dict[str, Any]:
        from aft_tui.engine.tuner import Tuner

        self.tuner = Tuner(self)
        if self.state.status != "running":  # a second tuning run in one conversation
            self.state.status = "running"
            self.state.save(self.state_dir)
        try:
            summary = await self.tuner.run(trials if trials is not None else self.settings.trials)
        except BaseException as exc:
            self.state.status = "interrupted" if _is_interrupt(exc) else "failed"
            self.state.save(self.state_dir)
            raise
        self.state.status = "interrupted" if summary.get("end_reason") == "cancelled" else "finished"
        self.state.save(self.state_dir)
        return summary

    @property
    def workflow(self) -> Any:
        if getattr(self, "_workflow", None) is None:
            from aft_tui.engine.workflow import Workflow
            self._workflow = Workflow(self)
        return self._workflow

    def inspect(self) -> Any:
        """Discovery of the session's script (read-only)."""
        return self.workflow.inspect()

    async def refactor(self) -> bool:
        return await self.workflow.refactor()

    async def repair(self) -> bool:
        return await self.workflow.repair()

    async def pipeline(self, trials: int | None = None) -> dict[str, Any] | None:
        return await self.workflow.pipeline(trials)

    def take_baseline_run(self) -> Any:
        """The smoke run kept for trial 1, handed to the tuner once."""
        smoke, self.baseline_run = self.baseline_run, None
        return smoke

    def trials_in_flight(self) -> int:
        """How many trials of a tuning run are running now (0 when none is)."""
        return self.tuner.in_flight if self.tuner is not None else 0

    def request_stop(self) -> None:
        """Stop after cancelling running trials, or the smoke run of a refactor or repair (Ctrl-C)."""
        self.stop_requested = True
        for running in (self.tuner, getattr(self, "_workflow", None)):
            if running is not None:
                running.cancel_running()

    def runs(self, session_only: bool = True) -> list[dict[str, Any]]:
        results = self.outputs.results()
        if session_only:
            results = [r for r in results if r.get("session") == self.session_id]
        return results

    def find_run(self, ref: str | int) -> dict[str, Any]:
        """A trial of this session by number (3, "3", "t003") or run id."""
        from aft_tui.engine.records import pick

        return pick(self.runs(), ref, self.session_id)

    def compare(self, a: str | int, b: str | int) -> Any:
        from aft_tui.vcs.compare import compare

        ra, rb = self.find_run(a), self.find_run(b)
        metrics_a = {ra["metric"]: ra.get("value")} if ra.get("metric") else {}
        metrics_b = {rb["metric"]: rb.get("value")} if rb.get("metric") else {}
        return compare(self.workspace, ra["commit"], rb["commit"], ra.get("params", {}), rb.get("params", {}),
                       metrics_a, metrics_b)

    async def rollback(self, ref: str | int) -> str:
        """Make a trial's state the branch head with a new commit (history is kept)."""
        record = self.find_run(ref)
        message = f"rollback to trial {record['number']} ({record['run_id']})"
        sha = await asyncio.to_thread(self.workspace.rollback, record["commit"], message)
        self.emit(ev.Rollback(to_run=record["run_id"], sha=sha))
        self.emit(ev.CommitMade(sha=sha, message=message, branch=self.workspace.branch))
        return sha

    def close(self, reason: str = "", *, error: BaseException | None = None, ok: bool = True) -> None:
        """End the session and record truthfully how it ended; every view calls this on every exit.

        `error` is the exception that ended the command, if one did; `ok` False when the command
        ran to its end without doing what was asked (a refactor that could not be made). The state
        file then says `interrupted` (Ctrl-C, a stop: resumable), `failed` (an error, or `ok`
        False: resumable once the cause is fixed) or `finished`. A new session that an error ended
        before it did anything (no commit after its snapshot, no run) is removed instead, branch,
        worktree and state alike: the error sentence says everything it would hold.
        """
        if self._log is None:
            return
        status = self._final_status(reason, error, ok)
        if status == "failed" and error is not None and self._discard_if_empty():
            return
        self.state.status = status
        self.state.save(self.state_dir)
        self.emit(ev.SessionEnded(session_id=self.session_id, reason=reason or status))
        self._log.close()
        self._log = None

    def _final_status(self, reason: str, error: BaseException | None, ok: bool) -> str:
        if (error is not None and _is_interrupt(error)) or reason == "interrupted":
            return "interrupted"
        if error is not None or not ok:
            return "failed"
        if self.state.status in ("interrupted", "failed"):  # as tune() recorded it
            return self.state.status
        return "finished"

    def _discard_if_empty(self) -> bool:
        """Remove a session created by this engine that did nothing; False (and nothing removed)
        when it holds any work: a commit after the snapshot, a trial, a run folder."""
        ws = self._workspace
        if not getattr(self, "_created_here", False) or ws is None:
            return False
        try:
            if self.runs() or any(self.outputs.root.glob(f"{self.session_id}-*")):
                return False
            if not ws.discard_if_unchanged():
                return False
        except Exception:  # a record that cannot be read counts as work: keep the session
            return False
        self._log.close()
        self._log = None
        for path in (state_path(self.state_dir, self.session_id), log_path(self.state_dir, self.session_id)):
            path.unlink(missing_ok=True)
        return True


def _is_interrupt(exc: BaseException) -> bool:
    return isinstance(exc, (KeyboardInterrupt, asyncio.CancelledError))


def _public_settings(settings: Settings) -> dict[str, Any]:
    """Settings as recorded in the session; never contains keys (only model names)."""
    data = settings.to_dict()
    return json.loads(json.dumps(data, default=str))
