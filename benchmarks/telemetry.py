"""Benchmark 5: what the GPU/CPU sampler costs.

The sampler runs at its default rate (one sample a second, as `aft chat` starts it) for a
while, with one registered trial (a process with two children, so process-tree measurement
is included), and its thread's own CPU time is divided by the wall time. The direct baseline
is a thread that only reads the CPU and memory counters at the same rate, which any monitor
has to do. The cost of one sample is also timed over a burst of samples.

NVML is read only where an NVIDIA driver and GPU exist; the report says which.

    python -m benchmarks.telemetry [--seconds 30] [--json out.json]
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from typing import Any

from benchmarks.common import Report, finish, median, parser, python

TARGET_PERCENT = 1.0
DEFAULT_INTERVAL = 1.0

_TREE = """\
import subprocess, sys, time
children = [subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"]) for _ in range(2)]
time.sleep(600)
"""


def _baseline(seconds: float, interval: float) -> float:
    """CPU seconds of a thread reading only psutil's CPU and memory counters every `interval`."""
    import psutil

    stop = threading.Event()
    spent: list[float] = []

    def loop() -> None:
        began = time.thread_time()
        while not stop.wait(interval):
            psutil.cpu_percent(interval=None, percpu=True)
            psutil.virtual_memory()
        spent.append(time.thread_time() - began)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    time.sleep(seconds)
    stop.set()
    thread.join()
    return spent[0]


def measure(seconds: float = 30.0, interval: float = DEFAULT_INTERVAL, burst: int = 50) -> dict[str, Any]:
    from aft_tui.telemetry import nvml
    from aft_tui.telemetry.sampler import Sampler

    tree = subprocess.Popen([python(), "-c", _TREE], start_new_session=True)
    try:
        time.sleep(0.5)  # let it start its children
        sampler = Sampler(interval=interval)
        sampler.register_trial("bench-t001", tree.pid)
        sampler.sample_once()  # first NVML initialisation and psutil priming, outside the figures
        ticks = []
        for _ in range(burst):
            began = time.thread_time()
            snapshot = sampler.sample_once()
            ticks.append(time.thread_time() - began)
        processes = snapshot.trials["bench-t001"].processes

        process_before = time.process_time()
        wall_before = time.perf_counter()
        sampler.start()
        time.sleep(seconds)
        sampler.stop()
        wall = time.perf_counter() - wall_before
        process_cpu = time.process_time() - process_before
        sampler_cpu = sampler.cpu_seconds
        samples = sampler.snapshot().samples
    finally:
        os.killpg(tree.pid, signal.SIGKILL)
        tree.wait()
    baseline_cpu = _baseline(seconds, interval)
    gpus = snapshot.gpus
    return {
        "seconds": wall, "interval": interval, "samples": samples - 1 - burst,
        "sampler_cpu_s": sampler_cpu, "process_cpu_s": process_cpu, "baseline_cpu_s": baseline_cpu,
        "sampler_percent": 100 * sampler_cpu / wall, "process_percent": 100 * process_cpu / wall,
        "baseline_percent": 100 * baseline_cpu / seconds,
        "tick_ms": median(ticks) * 1000, "trial_processes": processes,
        "gpus": len(gpus) if gpus is not None else 0,
        "gpu_status": snapshot.gpu_status or ("" if gpus else nvml.unavailable_reason()),
    }


def report(result: dict[str, Any], command: str) -> Report:
    r = Report(f"Benchmark 5: telemetry sampler at one sample per {result['interval']:g} s", command)
    r.add("sampler thread CPU, share of one core", result["sampler_percent"], "%", f"<= {TARGET_PERCENT:g}%",
          result["sampler_percent"] <= TARGET_PERCENT)
    r.add("whole process CPU while sampling, share of one core", result["process_percent"], "%")
    r.add("direct: CPU and memory counters only, share of one core", result["baseline_percent"], "%")
    base = result["baseline_percent"]
    r.add("ratio sampler / direct counters", result["sampler_percent"] / base if base > 0 else float("nan"), "x")
    r.add("CPU time of one sample", result["tick_ms"], "ms")
    r.add("samples taken", result["samples"], "")
    r.add("processes in the registered trial's tree", result["trial_processes"], "")
    r.add("GPUs read through NVML", result["gpus"], "")
    if not result["gpus"]:
        r.note(f"no GPU was read on this machine ({result['gpu_status']}); NVML's cost is not in these figures")
    r.data = result
    return r


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=30.0)
    args = p.parse_args(argv)
    result = measure(args.seconds)
    return finish(report(result, f"python -m benchmarks.telemetry --seconds {args.seconds:g}"), args.json)


if __name__ == "__main__":
    sys.exit(main())
