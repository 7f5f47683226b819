"""Background sampling of GPUs, CPU and memory into short histories for the GPU pane.

Why a thread and not an asyncio task: NVML and psutil calls are blocking C and /proc reads
(listing a GPU's processes can take tens of milliseconds on a busy machine). On the event
loop they would stall the engine and the Textual app at every tick; in a daemon thread they
stall nothing, and the same sampler serves the Textual app, the plain REPL (which has no
loop of its own) and headless runs. The UI never waits for it: `snapshot()` copies the
latest readings and histories under a lock held only for that copy.

Which trial runs on which GPU: trials are registered with the pid of the process AFT
started (`register_trial`); each tick the sampler expands that pid to its process tree
(launchers such as torchrun start the real workers as children) and matches those pids
against the processes NVML reports on each GPU. Inside a container NVML may report host
pids, which then match no trial; the GPU still shows its processes and memory.

Cost: a tick reads each GPU (about ten NVML queries), psutil's CPU and memory counters,
and the process trees of registered trials. The thread measures its own CPU time
(`cpu_seconds`), which the tests bound.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aft_tui.errors import UserError
from aft_tui.telemetry.nvml import GpuReading
from aft_tui.telemetry.recording import GpuSource, NvmlSource, RecordedSource, record
from aft_tui.telemetry.system import ProcessTreeMeter, SystemReading, read_system

__all__ = ["GPU_METRICS", "Sampler", "Snapshot", "TrialUsage", "RecordedSource", "NvmlSource", "record"]

GPU_METRICS = ("util_gpu", "util_mem", "mem_used", "temperature", "power_w", "fan")
"""The per-GPU values kept as histories (None where the board did not report one)."""


@dataclass(frozen=True)
class TrialUsage:
    """What one registered trial is using right now."""

    run_id: str
    pid: int
    alive: bool
    gpus: tuple[int, ...] = ()  # GPU indices where one of its processes runs
    gpu_mem: int | None = None  # bytes over those GPUs (None when NVML does not say)
    cpu_percent: float = 0.0
    rss: int = 0
    processes: int = 0


@dataclass(frozen=True)
class Snapshot:
    """A consistent copy of the latest readings and their histories (oldest first).

    Histories are aligned on their right end with `times`: a GPU that appeared later has a
    shorter history, and a GPU missing from a sample gets None for that sample.
    """

    time: float | None = None  # when the latest sample was taken (None before the first)
    samples: int = 0
    gpus: tuple[GpuReading, ...] | None = None  # None: no NVIDIA GPU could be read
    gpu_status: str = ""  # why `gpus` is None, in words
    system: SystemReading | None = None
    times: tuple[float, ...] = ()
    gpu_history: dict[int, dict[str, tuple[Any, ...]]] = field(default_factory=dict)
    cpu_history: tuple[float, ...] = ()
    ram_history: tuple[int, ...] = ()
    trials: dict[str, TrialUsage] = field(default_factory=dict)
    gpu_trials: dict[int, tuple[str, ...]] = field(default_factory=dict)  # GPU index -> run ids
    error: str | None = None  # the last sampling failure, if the latest tick failed

    @property
    def gpu_available(self) -> bool:
        return self.gpus is not None


class Sampler:
    """Samples every `interval` seconds, keeping the last `history` values of each metric.

    `source` provides GPU readings: the live NVML source by default, or a `RecordedSource`
    to replay a trace. `system=False` leaves out CPU and memory (for replays that should not
    mix in this machine's load).
    """

    def __init__(
        self,
        interval: float = 1.0,
        history: int = 120,
        source: GpuSource | None = None,
        system: bool = True,
    ) -> None:
        if not isinstance(interval, (int, float)) or interval <= 0:
            raise UserError(f"The sampling interval must be a positive number of seconds, not {interval!r}.")
        if not isinstance(history, int) or history < 1:
            raise UserError(f"The sampler history must keep at least 1 sample, not {history!r}.")
        self.interval = float(interval)
        self.history = history
        self.source: GpuSource = source if source is not None else NvmlSource()
        self._with_system = system
        self._lock = threading.Lock()
        self._sampling = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._meter = ProcessTreeMeter()
        self._trials: dict[str, int] = {}
        self._times: deque[float] = deque(maxlen=history)
        self._gpu_hist: dict[int, dict[str, deque[Any]]] = {}
        self._cpu: deque[float] = deque(maxlen=history)
        self._ram: deque[int] = deque(maxlen=history)
        self._latest = Snapshot()
        self._samples = 0
        self._cpu_seconds = 0.0

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> "Sampler":
        if self.running:
            return self
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="aft-telemetry", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float | None = None) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout if timeout is not None else max(2.0, 2 * self.interval))
        self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def __enter__(self) -> "Sampler":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def cpu_seconds(self) -> float:
        """CPU time the sampling thread has used so far (its own, not the process's)."""
        return self._cpu_seconds

    def _run(self) -> None:
        started_cpu = time.thread_time()
        deadline = time.monotonic()
        while not self._stop.is_set():
            self.sample_once()
            self._cpu_seconds = time.thread_time() - started_cpu
            deadline += self.interval
            delay = deadline - time.monotonic()
            if delay < 0:  # fell behind (suspended laptop, overloaded box): do not burst to catch up
                deadline = time.monotonic()
                delay = 0.0
            self._stop.wait(delay)
        self._cpu_seconds = time.thread_time() - started_cpu

    # ------------------------------------------------------------------ trials

    def register_trial(self, run_id: str, pid: int) -> None:
        if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
            raise UserError(f"Trial {run_id!r} needs a positive process id to be tracked, not {pid!r}.")
        with self._lock:
            self._trials[str(run_id)] = pid

    def unregister_trial(self, run_id: str) -> None:
        with self._lock:
            self._trials.pop(str(run_id), None)

    # ------------------------------------------------------------------ sampling

    def sample_once(self) -> Snapshot:
        """Take one sample now (the thread calls this every interval; tests call it directly)."""
        with self._sampling:  # sources and the process meter are not shared between callers
            return self._sample()

    def _sample(self) -> Snapshot:
        error = None
        try:
            gpus = self.source.read()
        except Exception as exc:  # a broken source must not kill the pane
            gpus, error = None, f"GPU reading failed: {exc}"
        system = None
        if self._with_system:
            try:
                system = read_system()
            except Exception as exc:
                error = f"CPU/memory reading failed: {exc}"
        with self._lock:
            trials = dict(self._trials)
        try:
            usage = self._meter.measure(set(trials.values()))
        except Exception as exc:
            usage, error = {}, f"process reading failed: {exc}"
        trial_usage, gpu_trials = _map_trials(trials, usage, gpus)
        now = time.time()
        status = "" if gpus is not None else (getattr(self.source, "status", "") or "no NVIDIA GPU found")

        with self._lock:
            self._samples += 1
            self._times.append(now)
            present = {g.index: g for g in gpus or ()}
            for index in present.keys() - self._gpu_hist.keys():
                self._gpu_hist[index] = {m: deque(maxlen=self.history) for m in GPU_METRICS}
            for index, metrics in self._gpu_hist.items():
                reading = present.get(index)
                for name, values in metrics.items():
                    values.append(getattr(reading, name) if reading is not None else None)
            if system is not None:
                self._cpu.append(system.cpu_percent)
                self._ram.append(system.ram_used)
            self._latest = Snapshot(
                time=now,
                samples=self._samples,
                gpus=tuple(gpus) if gpus is not None else None,
                gpu_status=status,
                system=system,
                trials=trial_usage,
                gpu_trials=gpu_trials,
                error=error,
            )
            return self._copy()

    def snapshot(self) -> Snapshot:
        """The latest readings with their histories; cheap and safe from any thread."""
        with self._lock:
            return self._copy()

    def _copy(self) -> Snapshot:
        latest = self._latest
        return Snapshot(
            time=latest.time,
            samples=latest.samples,
            gpus=latest.gpus,
            gpu_status=latest.gpu_status,
            system=latest.system,
            times=tuple(self._times),
            gpu_history={i: {m: tuple(v) for m, v in metrics.items()} for i, metrics in self._gpu_hist.items()},
            cpu_history=tuple(self._cpu),
            ram_history=tuple(self._ram),
            trials=dict(latest.trials),
            gpu_trials=dict(latest.gpu_trials),
            error=latest.error,
        )


def _map_trials(
    trials: dict[str, int],
    usage: dict[int, Any],
    gpus: list[GpuReading] | None,
) -> tuple[dict[str, TrialUsage], dict[int, tuple[str, ...]]]:
    """Attribute GPU processes to trials through each trial's process tree."""
    owner: dict[int, str] = {}
    for run_id, pid in trials.items():
        tree = usage.get(pid)
        for member in (tree.pids if tree is not None else (pid,)):
            owner.setdefault(member, run_id)
    on_gpu: dict[str, set[int]] = {run_id: set() for run_id in trials}
    mem: dict[str, int | None] = {run_id: None for run_id in trials}
    gpu_trials: dict[int, list[str]] = {}
    for gpu in gpus or ():
        for pid, used in gpu.processes:
            run_id = owner.get(pid)
            if run_id is None:
                continue
            on_gpu[run_id].add(gpu.index)
            if used is not None:
                mem[run_id] = (mem[run_id] or 0) + used
            if run_id not in gpu_trials.setdefault(gpu.index, []):
                gpu_trials[gpu.index].append(run_id)
    result = {}
    for run_id, pid in trials.items():
        tree = usage.get(pid)
        result[run_id] = TrialUsage(
            run_id=run_id,
            pid=pid,
            alive=bool(tree and tree.alive),
            gpus=tuple(sorted(on_gpu[run_id])),
            gpu_mem=mem[run_id],
            cpu_percent=tree.cpu_percent if tree else 0.0,
            rss=tree.rss if tree else 0,
            processes=len(tree.pids) if tree and tree.alive else 0,
        )
    return result, {i: tuple(runs) for i, runs in gpu_trials.items()}
