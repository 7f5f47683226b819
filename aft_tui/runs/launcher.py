"""Running one trial as a subprocess: stream its output, read its metrics, stop it cleanly.

A trial is a training script that may print a million lines, draw progress bars with carriage
returns, start DataLoader workers or a whole torchrun gang, ignore Ctrl-C, or hang. The
launcher's job is to never be the bottleneck and never leave a process behind:

- the child gets its own process group, so stopping a trial signals every process it started
  (SIGINT, then SIGTERM, then SIGKILL, each after a grace period);
- output is consumed in whole pipe reads through an asyncio protocol (no per-line awaits); the
  log file gets every line, views get one batch per read;
- metrics come from two places at once: the JSON-lines file named by `AFT_METRICS`, tailed while
  the script runs, and `key: value` style lines on stdout;
- a finished trial's leftover processes (orphaned workers holding GPU memory) are stopped too;
- if AFT itself dies (SIGKILL, OOM kill, closed terminal), a guard process stops the trial's
  group (`watchdog.py`), and the process can be recorded in a file (`process_file`) so that a
  resumed session finds and stops one that is still running (`orphans.py`).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from aft_tui.redaction import redact, remember_environment
from aft_tui.runs.launch_request import LaunchRequest, LaunchResult, build_environment
from aft_tui.runs.metrics import MetricRecord
from aft_tui.runs.metrics_tail import MetricsFileTail
from aft_tui.runs.process_group import HARD_STOP, WINDOWS, group_alive, signal_group
from aft_tui.runs.trial_output import TrialOutput
from aft_tui.runs.watchdog import GUARD

METRICS_POLL_S = 0.2
DRAIN_S = 2.0  # how long a finished trial's pipe may stay open (held by a grandchild)


class _OutputProtocol(asyncio.SubprocessProtocol):
    """Hands every pipe read straight to the trial, inside the event loop's own callback."""

    def __init__(self, trial: TrialProcess) -> None:
        self.trial = trial

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        self.trial._on_data(data)

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        self.trial._eof.set()

    def process_exited(self) -> None:
        self.trial._exited.set()


class TrialProcess:
    """One trial's subprocess; `run()` once, `cancel()` from anywhere while it runs."""

    def __init__(
        self,
        request: LaunchRequest,
        on_lines: Callable[[list[str]], None] | None = None,
        on_metrics: Callable[[list[MetricRecord]], None] | None = None,
        on_warning: Callable[[str], None] | None = None,
    ) -> None:
        self.request = request
        self.output = TrialOutput(request.param_names, request.metric, on_lines, on_metrics)
        self.on_warning = on_warning
        # Whatever the trial prints is redacted before anyone sees it; its own variables
        # (HF_TOKEN=..., a key passed in `env`) are among the secrets from now on.
        remember_environment(os.environ)
        remember_environment(request.env)
        self.warnings: list[str] = []
        self.pid: int | None = None
        self._transport: asyncio.SubprocessTransport | None = None
        self._cancel_status: str | None = None
        self._escalation: asyncio.Future[None] | None = None
        self._failure: BaseException | None = None
        self._finished = False
        self._running = False
        self._started = asyncio.Event()  # set once the process exists or failed to start
        self._exited = asyncio.Event()
        self._eof = asyncio.Event()
        self._failed = asyncio.Event()

    # ------------------------------------------------------------------ public

    @property
    def on_lines(self) -> Callable[[list[str]], None] | None:
        """Called with each batch of output lines (redacted), inside the event loop."""
        return self.output.on_lines

    @on_lines.setter
    def on_lines(self, callback: Callable[[list[str]], None] | None) -> None:
        self.output.on_lines = callback

    @property
    def on_metrics(self) -> Callable[[list[MetricRecord]], None] | None:
        """Called with the metrics read from printed lines and from the metrics file."""
        return self.output.on_metrics

    @on_metrics.setter
    def on_metrics(self, callback: Callable[[list[MetricRecord]], None] | None) -> None:
        self.output.on_metrics = callback

    async def run(self) -> LaunchResult:
        if self._running or self._finished:
            raise RuntimeError("a TrialProcess runs once; create a new one for another trial")
        self._running = True
        request = self.request
        started = time.monotonic()
        run_dir = Path(request.run_dir)
        log_path = Path(request.log_path)
        try:
            run_dir.mkdir(parents=True, exist_ok=True)
            log_path.parent.mkdir(parents=True, exist_ok=True)
            self.output.log = log = open(log_path, "a", encoding="utf-8", newline="\n")
        except OSError as exc:
            self._finished = True
            self._started.set()
            return self._start_failed(
                started,
                f"Could not create the run's log {log_path} ({exc.strerror or exc}); "
                "check that the outputs folder is writable.",
            )
        try:
            return await self._run(started)
        finally:
            self._finished = True
            self._started.set()
            log.close()

    async def cancel(self, status: str = "cancelled") -> None:
        """Stop the trial (INT, TERM, KILL to its process group); returns once the script is gone.

        The first reason given wins: a trial that timed out stays "timeout" even if the
        person also pressed stop.
        """
        if self._finished or self._exited.is_set():
            return  # already over: a trial that ended on its own keeps its own status
        if self._cancel_status is None:
            self._cancel_status = status
        if self._transport is None:
            if not self._running:
                return  # run() will see the request and start nothing
            await self._started.wait()  # starting right now: stop it once it exists
            if self._transport is None or self._finished:
                return
        if self._escalation is None:
            self._escalation = asyncio.ensure_future(self._escalate())
        await asyncio.shield(self._escalation)

    # ------------------------------------------------------------------ run

    async def _run(self, started: float) -> LaunchResult:
        request = self.request
        if self._cancel_status is not None:
            return LaunchResult(None, self._cancel_status, 0.0, [])
        cwd = Path(request.cwd)
        if not request.command:
            return self._start_failed(started, "The trial has no command to run; this is a bug in how it was set up.")
        if not cwd.is_dir():
            return self._start_failed(
                started, f"The working directory {cwd} does not exist; create it or run AFT from the project folder."
            )
        env = build_environment(request)
        tail = MetricsFileTail(Path(request.metrics_path).absolute(), self._deliver_file, self._warn)
        loop = asyncio.get_running_loop()
        kwargs: dict[str, object] = {}
        if WINDOWS:
            kwargs["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP  # type: ignore[attr-defined]
        else:
            kwargs["start_new_session"] = True
        try:
            transport, _ = await loop.subprocess_exec(
                lambda: _OutputProtocol(self),
                *request.command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                cwd=str(cwd),
                env=env,
                **kwargs,
            )
        except FileNotFoundError:
            return self._start_failed(
                started,
                f"Could not start the trial: '{request.command[0]}' was not found; check the interpreter "
                "(--python, --venv, --conda) or --prefix.",
            )
        except PermissionError:
            return self._start_failed(
                started,
                f"Could not start the trial: '{request.command[0]}' is not executable; fix its permissions "
                "or choose another interpreter.",
            )
        except OSError as exc:
            return self._start_failed(
                started, f"Could not start the trial with '{request.command[0]}': {exc.strerror or exc}."
            )
        self._transport = transport
        self.pid = transport.get_pid()
        if not WINDOWS:
            GUARD.watch(self.pid)  # stopped by the guard if AFT dies before the trial ends
            self._record_process()
        self._started.set()
        tailer = asyncio.ensure_future(self._tail_metrics(tail))
        try:
            if self._cancel_status is not None:
                await self.cancel(self._cancel_status)
            await self._wait_for_exit(request.timeout)
            if self._escalation is not None:
                await asyncio.shield(self._escalation)
            await self._drain()
            await self._stop_leftovers(already_signalled=self._escalation is not None)
            self.output.flush()
            self._raise_failure()
        except BaseException:
            self._kill_now()
            tailer.cancel()
            transport.close()
            raise
        finally:
            if not WINDOWS:
                GUARD.release(self.pid)
        tailer.cancel()
        try:
            await tailer
        except asyncio.CancelledError:
            pass
        tail.poll(final=True)
        returncode = transport.get_returncode()
        transport.close()
        return LaunchResult(
            returncode=returncode,
            status=self._cancel_status or "exited",
            duration=time.monotonic() - started,
            tail=list(self.output.tail),
        )

    def _record_process(self) -> None:
        """Write the process file: enough to recognise this process later (a pid alone may be reused)."""
        path = self.request.process_file
        if path is None or self.pid is None:
            return
        from aft_tui.runs.orphans import record_process

        try:
            record_process(Path(path), self.pid, self.request.command, self.request.process_note)
        except OSError:
            pass  # only a resume after a crash reads it; the trial itself is unaffected

    def _start_failed(self, started: float, message: str) -> LaunchResult:
        if self.output.log is not None:
            self.output.log.write(message + "\n")
            self.output.log.flush()
        return LaunchResult(None, "start_failed", time.monotonic() - started, [], error=message)

    async def _wait_for_exit(self, timeout: float | None) -> None:
        exited = asyncio.ensure_future(self._exited.wait())
        failed = asyncio.ensure_future(self._failed.wait())
        try:
            done, _ = await asyncio.wait({exited, failed}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            exited.cancel()
            failed.cancel()
        self._raise_failure()
        if not done:
            await self.cancel("timeout")

    async def _wait_event(self, event: asyncio.Event, timeout: float) -> bool:
        try:
            await asyncio.wait_for(event.wait(), timeout)
            return True
        except asyncio.TimeoutError:
            return event.is_set()

    async def _escalate(self) -> None:
        request = self.request
        steps = [(signal.SIGINT, request.grace_int), (signal.SIGTERM, request.grace_term)]
        for sig, grace in steps:
            if self._exited.is_set():
                return
            self._signal(sig)
            if await self._wait_event(self._exited, max(grace, 0.0)):
                return
        self._signal(HARD_STOP)
        await self._exited.wait()

    async def _drain(self) -> None:
        """Read what the script wrote before exiting; a grandchild holding the pipe does not stall us."""
        if await self._wait_event(self._eof, DRAIN_S):
            return
        await self._stop_leftovers(already_signalled=False)
        if not await self._wait_event(self._eof, DRAIN_S) and self._transport is not None:
            self._transport.close()  # someone outside the group holds the pipe; stop reading

    async def _stop_leftovers(self, already_signalled: bool) -> None:
        """Processes the script started and left running (they would hold GPU memory)."""
        if not self._group_alive():
            return
        if not already_signalled:
            self._signal(signal.SIGTERM)
        deadline = time.monotonic() + min(self.request.grace_term, 2.0)
        while time.monotonic() < deadline:
            await asyncio.sleep(0.05)
            if not self._group_alive():
                return
        self._signal(HARD_STOP)
        deadline = time.monotonic() + 1.0
        while self._group_alive() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)

    async def _tail_metrics(self, tail: MetricsFileTail) -> None:
        while True:
            tail.poll()
            await asyncio.sleep(METRICS_POLL_S)

    # ------------------------------------------------------------------ signals

    def _signal(self, sig: int) -> None:
        signal_group(self.pid, sig, self._transport)

    def _kill_now(self) -> None:
        if self._transport is not None and not self._finished:
            self._signal(HARD_STOP)

    def _group_alive(self) -> bool:
        return group_alive(self.pid)

    # ------------------------------------------------------------------ output

    def _on_data(self, data: bytes) -> None:
        if self._failure is not None:
            return
        try:
            self.output.feed(data)
        except BaseException as exc:  # a view's callback failed: stop the trial, report in run()
            self._failure = exc
            self._failed.set()

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure

    def _deliver_file(self, records: list[MetricRecord]) -> None:
        if self.on_metrics is not None:
            self.on_metrics(records)

    def _warn(self, message: str) -> None:
        message = redact(message)  # it may quote a line of the metrics file
        self.warnings.append(message)
        if self.on_warning is not None:
            self.on_warning(message)


__all__ = ["TrialProcess"]
