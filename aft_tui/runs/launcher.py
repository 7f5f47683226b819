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

A metrics file that already exists when the trial starts is treated as history: only lines
appended after the start are read, so a rerun in the same folder is not credited with old values.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from aft_tui.redaction import redact, remember_environment
from aft_tui.runs.metrics import MetricRecord, may_hold_metrics, parse_line, parse_metrics_file_line
from aft_tui.runs.watchdog import GUARD

LINE_LIMIT = 64 * 1024  # a line without a newline is flushed in pieces of this size
TAIL_LINES = 60
METRICS_POLL_S = 0.2
DRAIN_S = 2.0  # how long a finished trial's pipe may stay open (held by a grandchild)

_WINDOWS = os.name == "nt"


@dataclass
class LaunchRequest:
    command: list[str]
    cwd: Path
    run_dir: Path
    log_path: Path
    metrics_path: Path
    env: dict[str, str] = field(default_factory=dict)
    gpus: list[int] | None = None
    timeout: float | None = None
    omp_threads: int | None = 1
    unbuffered: bool = True  # PYTHONUNBUFFERED=1 (also reaches Pythons a launcher such as torchrun starts)
    grace_int: float = 5.0
    grace_term: float = 5.0
    # What the printed lines are read with (parse_line): names never reported as metrics (the
    # trial's parameters, see parameter_names) and the objective, always kept.
    param_names: frozenset[str] = frozenset()
    metric: str | None = None
    # Where the running process is recorded (its pid, group and start time, beside `process_note`),
    # so that a later AFT can stop it if this one was killed; the caller removes the file.
    process_file: Path | None = None
    process_note: dict[str, object] = field(default_factory=dict)


@dataclass
class LaunchResult:
    returncode: int | None
    status: str  # exited | timeout | cancelled | pruned | start_failed
    duration: float
    tail: list[str]
    error: str = ""


def build_environment(request: LaunchRequest, base: dict[str, str] | None = None) -> dict[str, str]:
    """The child's environment: the user's, the request's, then the trial protocol's variables."""
    env = dict(os.environ if base is None else base)
    user_set_omp = "OMP_NUM_THREADS" in env or "OMP_NUM_THREADS" in request.env
    env.update({str(k): str(v) for k, v in request.env.items()})
    env["AFT_RUN_DIR"] = str(Path(request.run_dir).absolute())
    env["AFT_METRICS"] = str(Path(request.metrics_path).absolute())
    if request.unbuffered:
        env["PYTHONUNBUFFERED"] = "1"
    else:  # asked for explicitly, so it wins over a PYTHONUNBUFFERED left in the shell
        env.pop("PYTHONUNBUFFERED", None)
    if request.gpus is not None:
        env["CUDA_VISIBLE_DEVICES"] = ",".join(str(g) for g in request.gpus)
    if request.omp_threads is not None and not user_set_omp:
        # Parallel trials each spawning one OpenMP thread per core would oversubscribe the CPU.
        env["OMP_NUM_THREADS"] = str(request.omp_threads)
    return env


def _last_cr_segment(line: str) -> str:
    """What a terminal would show for a line redrawn with carriage returns."""
    stripped = line.rstrip("\r")
    cut = stripped.rfind("\r")
    return stripped[cut + 1 :] if cut >= 0 else stripped


def _split_long(lines: list[str]) -> list[str]:
    out: list[str] = []
    for line in lines:
        if len(line) <= LINE_LIMIT:
            out.append(line)
        else:
            out.extend(line[i : i + LINE_LIMIT] for i in range(0, len(line), LINE_LIMIT))
    return out


# Where a line too long to hold is cut into pieces, the cut is moved back to the last separator
# within this many bytes: each piece is redacted on its own, and a token cut in two would not be
# recognised in either half.
_TOKEN_SPAN = 1024
_SEPARATORS = frozenset(b" \t,;\"'()[]{}<>|")


def _piece_end(pending: bytes) -> int:
    """Where to cut the first piece off a line longer than LINE_LIMIT: after the last separator
    near the limit (never inside a token), else at the limit; never inside a UTF-8 character."""
    for i in range(LINE_LIMIT - 1, LINE_LIMIT - 1 - _TOKEN_SPAN, -1):
        if pending[i] in _SEPARATORS:
            return i + 1
    cut = LINE_LIMIT
    while cut < len(pending) and cut > LINE_LIMIT - 4 and (pending[cut] & 0xC0) == 0x80:
        cut -= 1  # do not split a UTF-8 character
    return cut


def _display_path(path: Path) -> str:
    try:
        return path.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return str(path)


class _MetricsFileTail:
    """Follows the metrics file as the script appends to it; each line is parsed exactly once."""

    def __init__(
        self,
        path: Path,
        deliver: Callable[[list[MetricRecord]], None],
        warn: Callable[[str], None],
    ) -> None:
        self.path = path
        self.display = _display_path(path)
        self.deliver = deliver
        self.warn = warn
        self.offset = 0
        self.lineno = 0
        self.partial = b""
        try:
            with open(path, "rb") as f:
                existing = f.read()
            self.offset = len(existing)
            self.lineno = existing.count(b"\n")
            if existing and not existing.endswith(b"\n"):
                # The old last line is complete history too; new lines start on the next one.
                self.lineno += 1
        except OSError:
            pass

    def poll(self, final: bool = False) -> None:
        try:
            size = os.stat(self.path).st_size
        except OSError:
            return
        if size < self.offset:  # replaced or truncated: start over
            self.offset, self.lineno, self.partial = 0, 0, b""
        data = b""
        if size > self.offset:
            try:
                with open(self.path, "rb") as f:
                    f.seek(self.offset)
                    data = f.read()
            except OSError:
                return
            self.offset += len(data)
        data = self.partial + data
        if final:
            pieces = data.split(b"\n")
            if pieces and pieces[-1] == b"":
                pieces.pop()
            self.partial = b""
        else:
            cut = data.rfind(b"\n")
            if cut < 0:
                self.partial = data
                return
            pieces, self.partial = data[:cut].split(b"\n"), data[cut + 1 :]
        records: list[MetricRecord] = []
        for raw in pieces:
            self.lineno += 1
            text = raw.decode("utf-8", "replace").strip()
            if not text:
                continue
            try:
                records.append(parse_metrics_file_line(text))
            except ValueError as exc:
                self.warn(f"{self.display} line {self.lineno} {exc}; that line was skipped.")
        if records:
            self.deliver(records)


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
        self.on_lines = on_lines
        self.on_metrics = on_metrics
        self.on_warning = on_warning
        # Whatever the trial prints is redacted before anyone sees it; its own variables
        # (HF_TOKEN=..., a key passed in `env`) are among the secrets from now on.
        remember_environment(os.environ)
        remember_environment(request.env)
        self.warnings: list[str] = []
        self.pid: int | None = None
        self._transport: asyncio.SubprocessTransport | None = None
        self._log: IO[str] | None = None
        self._pending = b""
        self._tail: deque[str] = deque(maxlen=TAIL_LINES)
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
            self._log = open(log_path, "a", encoding="utf-8", newline="\n")
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
            self._log.close()

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
        tail = _MetricsFileTail(Path(request.metrics_path).absolute(), self._deliver_file, self._warn)
        loop = asyncio.get_running_loop()
        kwargs: dict[str, object] = {}
        if _WINDOWS:
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
        if not _WINDOWS:
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
            self._flush_pending()
            self._raise_failure()
        except BaseException:
            self._kill_now()
            tailer.cancel()
            transport.close()
            raise
        finally:
            if not _WINDOWS:
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
            tail=list(self._tail),
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
        if self._log is not None:
            self._log.write(message + "\n")
            self._log.flush()
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
        self._signal(signal.SIGKILL if not _WINDOWS else signal.SIGTERM)
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
        self._signal(signal.SIGKILL if not _WINDOWS else signal.SIGTERM)
        deadline = time.monotonic() + 1.0
        while self._group_alive() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)

    async def _tail_metrics(self, tail: _MetricsFileTail) -> None:
        while True:
            tail.poll()
            await asyncio.sleep(METRICS_POLL_S)

    # ------------------------------------------------------------------ signals

    def _signal(self, sig: int) -> None:
        if self.pid is None:
            return
        if _WINDOWS:
            try:
                if sig == signal.SIGINT:
                    os.kill(self.pid, signal.CTRL_BREAK_EVENT)  # type: ignore[attr-defined]
                elif self._transport is not None:
                    self._transport.kill()
            except OSError:
                pass
            return
        try:
            os.killpg(self.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def _kill_now(self) -> None:
        if self._transport is not None and not self._finished:
            self._signal(signal.SIGKILL if not _WINDOWS else signal.SIGTERM)

    def _group_alive(self) -> bool:
        """Whether any process of the trial's group still runs (zombies awaiting a reaper do not count)."""
        if self.pid is None or _WINDOWS:
            return False
        try:
            os.killpg(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        import psutil

        for proc in psutil.process_iter(["status"]):
            try:
                if os.getpgid(proc.pid) == self.pid and proc.info["status"] != psutil.STATUS_ZOMBIE:
                    return True
            except (ProcessLookupError, PermissionError, psutil.Error):
                continue
        return False

    # ------------------------------------------------------------------ output

    def _on_data(self, data: bytes) -> None:
        if self._failure is not None:
            return
        try:
            self._feed(data)
        except BaseException as exc:  # a view's callback failed: stop the trial, report in run()
            self._failure = exc
            self._failed.set()

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure

    def _feed(self, chunk: bytes) -> None:
        data = self._pending + chunk if self._pending else chunk
        cut = data.rfind(b"\n")
        if cut < 0:
            self._pending = data
        else:
            self._pending = data[cut + 1 :]
            text = data[:cut].decode("utf-8", "replace")
            lines = text.split("\n")
            if "\r" in text:
                lines = [_last_cr_segment(line) if "\r" in line else line for line in lines]
            self._emit(lines, text)
        pending = self._pending
        if b"\r" in pending:
            # An endless progress bar redraws one line forever: keep only its latest state.
            cut = pending.rstrip(b"\r").rfind(b"\r")
            if cut > 0:
                self._pending = pending = pending[cut:]
        while len(pending) >= LINE_LIMIT:
            cut = _piece_end(pending)
            piece, pending = pending[:cut], pending[cut:]
            self._pending = pending
            decoded = piece.decode("utf-8", "replace")
            self._emit([_last_cr_segment(decoded)], decoded, ends_line=False)

    def _flush_pending(self) -> None:
        if self._pending:
            decoded = self._pending.decode("utf-8", "replace")
            self._pending = b""
            self._emit([_last_cr_segment(decoded)], decoded)

    def _emit(self, lines: list[str], text: str, ends_line: bool = True) -> None:
        """`ends_line` False: a piece of a line longer than LINE_LIMIT that has not ended yet; the
        views see it as a line of its own, the log file carries on the same line."""
        # Secrets are removed here, at the source: the log file, the tail (and so the failure
        # reason and diagnosis), the views and the session log all receive the redacted lines.
        joined = "\n".join(lines)
        cleaned = redact(joined)
        if cleaned is not joined:
            lines = cleaned.split("\n")
        if self._log is not None:
            self._log.write(cleaned)
            if ends_line:
                self._log.write("\n")
            self._log.flush()
        if len(text) > LINE_LIMIT:  # the log file has each line as printed; the views get pieces
            lines = _split_long(lines)
        self._tail.extend(lines[-TAIL_LINES:])
        if self.on_lines is not None:
            self.on_lines(lines)
        if self.on_metrics is not None and may_hold_metrics(text):
            params, metric = self.request.param_names, self.request.metric
            records = [r for r in (parse_line(line, params, metric) for line in lines) if r is not None]
            if records:
                self.on_metrics(records)

    def _deliver_file(self, records: list[MetricRecord]) -> None:
        if self.on_metrics is not None:
            self.on_metrics(records)

    def _warn(self, message: str) -> None:
        message = redact(message)  # it may quote a line of the metrics file
        self.warnings.append(message)
        if self.on_warning is not None:
            self.on_warning(message)


__all__ = ["LaunchRequest", "LaunchResult", "TrialProcess", "build_environment"]
