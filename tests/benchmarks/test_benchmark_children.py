"""A benchmark stopped by SIGTERM or Ctrl-C stops the sessions it started: each runs in its own
process group, so no signal to the benchmark reaches them otherwise."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[2]

HARNESS = """
import sys
from pathlib import Path
from benchmarks.corpus import children_stopped_on_signal, run

work = Path(sys.argv[1])
child = [sys.executable, "-c", "import os, time; open('pid', 'w').write(str(os.getpid())); time.sleep(120)"]
with children_stopped_on_signal():
    run(child, work, dict(__import__("os").environ), 300, work / "child")
"""


def test_sigterm_to_the_benchmark_stops_the_session_it_started(tmp_path: Path):
    harness = subprocess.Popen([sys.executable, "-c", HARNESS, str(tmp_path)], cwd=ROOT,
                               env={**os.environ, "PYTHONPATH": str(ROOT)})
    pid_file = tmp_path / "pid"
    deadline = time.time() + 30
    while not (pid_file.is_file() and pid_file.read_text()) and time.time() < deadline:
        time.sleep(0.05)
    child = int(pid_file.read_text())
    assert psutil.pid_exists(child)
    harness.send_signal(signal.SIGTERM)
    assert harness.wait(timeout=40) == 128 + signal.SIGTERM
    deadline = time.time() + 10
    while psutil.pid_exists(child) and psutil.Process(child).status() != psutil.STATUS_ZOMBIE and time.time() < deadline:
        time.sleep(0.05)
    assert not psutil.pid_exists(child) or psutil.Process(child).status() == psutil.STATUS_ZOMBIE
