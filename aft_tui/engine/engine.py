"""The engine: the one command surface every view drives.

It owns a session (id, log, workspace branch, outputs) and exposes coroutines for the
workflow steps. It emits typed events to subscribers and never imports UI code.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from pathlib import Path
from typing import Any, Callable

from aft_tui.engine import events as ev
from aft_tui.engine.input_checks import check_new_session, check_settings
from aft_tui.engine.session import SessionState, log_path, new_session_id, state_path
from aft_tui.engine.session_log import (
    LINE_CHARS_KEPT,
    LOG_CHARS_KEPT_PER_TRIAL,
    LOG_LINES_KEPT_PER_TRIAL,
    SessionLog,
    clip_line,
)
from aft_tui.engine.target_info import TargetInfo, resolve_target
from aft_tui.errors import UserError
from aft_tui.runs.interpreter import Interpreter
from aft_tui.runs.outputs import Outputs
from aft_tui.settings import Settings
from aft_tui.target.script_args import describe as describe_args

Subscriber = Callable[[ev.Event], None]


class Engine:
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
        self._logged_lines: dict[str, int] = {}
        self._logged_chars: dict[str, int] = {}
        self._workspace: Any = None
        self._pending: dict[str, asyncio.Future] = {}
        self._proposal_ids = itertools.count(1)
        self._message_ids = itertools.count(1)  # apart from proposals, so those read p1, p2, p3
        self.stop_requested = False
        self._created_here = False  # start() made the session's branch and worktree (not a resume)
        self.tuner: Any = None
        # A passing smoke run of the refactored script with no extra flags ran exactly the
        # defaults: the tuner takes it as trial 1 instead of training the same thing again.
        self.baseline_run: Any = None

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
            logged = self._for_log(event)
            if logged is not None:
                self._log.append(logged)
        for callback in list(self._subscribers):
            callback(event)

    def _for_log(self, event: ev.Event) -> ev.Event | None:
        """The event as the session log keeps it, or None when it is not kept.

        A trial's output is kept up to LOG_LINES_KEPT_PER_TRIAL lines and LOG_CHARS_KEPT_PER_TRIAL
        characters, each line cut at LINE_CHARS_KEPT with a note naming the trial's log file, which
        has everything: one 10 MB line would otherwise be copied whole into the session log.
        """
        if not isinstance(event, ev.TrialLog):
            return event
        lines, chars = self._logged_lines.get(event.run_id, 0), self._logged_chars.get(event.run_id, 0)
        if lines >= LOG_LINES_KEPT_PER_TRIAL or chars >= LOG_CHARS_KEPT_PER_TRIAL:
            return None
        self._logged_lines[event.run_id] = lines + len(event.lines)
        if all(len(line) <= LINE_CHARS_KEPT for line in event.lines):
            self._logged_chars[event.run_id] = chars + sum(map(len, event.lines))
            return event
        log_file = self.outputs.log_path(event.run_id)
        where = str(log_file.relative_to(self.info.project)) if log_file.is_relative_to(self.info.project) else str(log_file)
        kept = [clip_line(line, where=where) for line in event.lines]
        self._logged_chars[event.run_id] = chars + sum(map(len, kept))
        return ev.TrialLog(run_id=event.run_id, lines=kept, ts=event.ts)

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

    def trial_spec(self, run_id: str, number: int, params: dict[str, Any], command: list[str], *,
                   timeout: float | None, gpus: list[int] | None, omp_threads: int) -> Any:
        """How every run of the script is launched (smoke runs and trials alike), so a smoke run
        of the defaults is the same run trial 1 would have been."""
        from aft_tui.engine.trial import TrialSpec

        cwd = self.trial_cwd
        return TrialSpec(run_id=run_id, number=number, params=params, command=command, cwd=cwd,
                         run_dir=self.outputs.run_dir(run_id), log_path=self.outputs.log_path(run_id),
                         metrics_path=self.outputs.metrics_path(run_id), timeout=timeout, gpus=gpus,
                         omp_threads=omp_threads, model_path=self.settings.model_path,
                         unbuffered=not self.settings.buffered_output, param_names=self.param_names(),
                         metric_window=self.settings.metric_window,
                         artifact_dirs=[self.work_script.parent] if self.work_script.parent != cwd else [])

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

        assigned = slots.assign_slots(self.settings.parallel, self.settings.gpus_per_trial, slots.gpu_ids())
        return assigned[0], slots.threads_per_trial(len(assigned))

    # -- proposals ---------------------------------------------------------------
    def next_proposal_id(self) -> str:
        return f"p{next(self._proposal_ids)}"

    async def propose_action(self, kind: str, title: str, rationale: str, *, diff: str = "",
                             summary: str = "") -> ev.Decision:
        """`propose` for callers below the engine (the assistant's tools), which know a proposal's
        parts but not the engine's event types."""
        return await self.propose(ev.Proposal(proposal_kind=kind, title=title, rationale=rationale, diff=diff,
                                              summary=summary))

    async def propose(self, proposal: ev.Proposal, auto: bool | None = None) -> ev.Decision:
        """Show a proposal and wait for the person's decision (or approve it under --yes)."""
        if not proposal.proposal_id:
            proposal.proposal_id = self.next_proposal_id()
        self.emit(proposal)
        if auto if auto is not None else self.settings.yes:
            decision = ev.Decision(proposal_id=proposal.proposal_id, approved=True, by="auto")
            self.emit(decision)
            return decision
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self._pending[proposal.proposal_id] = future
        try:
            decision = await future
        finally:
            self._pending.pop(proposal.proposal_id, None)
        return decision

    def decide(self, proposal_id: str, approved: bool, feedback: str = "", edited_diff: str | None = None) -> None:
        """Called by a view when the person approves or rejects a pending proposal."""
        future = self._pending.get(proposal_id)
        if future is None or future.done():
            raise UserError(f"There is no pending proposal '{proposal_id}'.")
        decision = ev.Decision(proposal_id=proposal_id, approved=approved, feedback=feedback, edited_diff=edited_diff)
        if edited_diff is not None:
            decision.feedback = feedback or "edited by the user"
        self.emit(decision)
        future.set_result(decision)

    @property
    def pending_proposals(self) -> list[str]:
        return list(self._pending)

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
        """Stop after cancelling running trials (Ctrl-C)."""
        self.stop_requested = True
        if self.tuner is not None:
            self.tuner.cancel_running()

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

    # -- conversation ------------------------------------------------------------
    @property
    def brain(self) -> Any:
        if getattr(self, "_brain", None) is None:
            from aft_tui.brain import get_brain

            self._brain = get_brain(self.settings)
            watch = getattr(self._brain, "watch_usage", None)
            if callable(watch):
                watch(self._count_llm_usage)
        return self._brain

    def set_model(self, model: str | None, api_base: str | None = None) -> None:
        """Switch the assistant's model (None: the offline brain); the next request uses it.

        The spending so far stays in the session's totals; the conversation with the old model
        is not carried over. The choice is saved with the session, so a resume keeps it.
        """
        self.settings.model = model or None
        if api_base is not None:
            self.settings.api_base = api_base or None
        self._brain = None
        # A resumed session talks to the model chosen last, not the one it started with.
        self.state.settings["model"] = self.settings.model
        self.state.settings["api_base"] = self.settings.api_base
        if self._log is not None:
            self.state.save(self.state_dir)

    @property
    def llm_usage(self) -> dict[str, Any]:
        """The session's model spending so far (kept in the session state, so it survives a resume)."""
        usage = self.state.notes.get("llm_usage")
        if not isinstance(usage, dict):
            usage = {"model": "", "prompt_tokens": 0, "completion_tokens": 0, "cost_usd": None, "calls": 0}
        return usage

    def _count_llm_usage(self, model: str, prompt_tokens: int, completion_tokens: int, cost_usd: float | None) -> None:
        usage = dict(self.llm_usage)
        usage["model"] = model
        usage["prompt_tokens"] = int(usage.get("prompt_tokens") or 0) + int(prompt_tokens)
        usage["completion_tokens"] = int(usage.get("completion_tokens") or 0) + int(completion_tokens)
        if cost_usd:
            usage["cost_usd"] = float(usage.get("cost_usd") or 0.0) + float(cost_usd)
        usage["calls"] = int(usage.get("calls") or 0) + 1
        self.state.notes["llm_usage"] = usage
        self.state.save(self.state_dir)
        self.emit(ev.LLMUsage(**usage))

    def chat_context(self) -> dict[str, Any]:
        """What the assistant is told about the session: compact, never secrets."""
        results = self.runs()
        rows = [{k: r.get(k) for k in ("number", "status", "value", "params", "reason")} for r in results[-20:]]
        latest = next((r.get("findings") for r in reversed(results) if r.get("findings")), [])
        return {
            "target": self.state.target,
            "metric": self.state.metric or self.settings.metric,
            "direction": self.state.direction or self.settings.direction,
            "search_space": self.state.space,
            "runs": rows,
            "latest_findings": latest,
            "trials_budget": self.settings.trials,
            "branch": getattr(self._workspace, "branch", None),
        }

    async def chat(self, text: str) -> str:
        """Free text from the person: the brain answers (streamed) and may use engine tools."""
        self.emit(ev.UserMessage(text=text))
        message_id = f"m{next(self._message_ids)}"

        def on_chunk(chunk: str) -> None:
            self.emit(ev.AssistantMessage(text=chunk, message_id=message_id, final=False))

        reply = await self.brain.chat(text, self.chat_context(), on_chunk, self)
        self.emit(ev.AssistantMessage(text=reply, message_id=message_id, final=True))
        return reply

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


def highest_proposal_number(path: Path) -> int:
    """The largest n among the proposal ids "p<n>" a session log holds (0 when none or no log).

    Only lines that mention a proposal id are parsed, so this stays cheap on long sessions.
    """
    highest = 0
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if '"proposal_id"' not in line:
                    continue
                try:
                    pid = json.loads(line).get("proposal_id")
                except (ValueError, AttributeError):  # a torn last line, or not an object
                    continue
                if isinstance(pid, str) and pid[:1] == "p" and pid[1:].isdigit():
                    highest = max(highest, int(pid[1:]))
    except FileNotFoundError:
        return 0
    return highest


def _public_settings(settings: Settings) -> dict[str, Any]:
    """Settings as recorded in the session; never contains keys (only model names)."""
    data = settings.to_dict()
    return json.loads(json.dumps(data, default=str))
