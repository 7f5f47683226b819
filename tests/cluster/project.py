"""A small project the cluster tests tune: a training script that reads data the commit does not
hold, reports a metric per epoch through AFT_METRICS, prints a line per epoch and saves a model."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

from tests.cluster.local_cluster import CLUSTER_MARK
from tests.conftest import git
from tests.engine.helpers import aft_env

SCRIPT = '''\
import argparse, json, os, signal, socket, time

p = argparse.ArgumentParser()
p.add_argument("--lr", type=float, default=0.1)
p.add_argument("--epochs", type=int, default=4)
p.add_argument("--sleep", type=float, default=0.3)
p.add_argument("--ignore-interrupt", type=int, default=0)
p.add_argument("--model-kb", type=int, default=7)
a = p.parse_args()
if a.ignore_interrupt:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
scale = float(open("data/scale.txt").read())
metrics = open(os.environ["AFT_METRICS"], "a")
loss = 1.0
for epoch in range(1, a.epochs + 1):
    time.sleep(a.sleep)
    loss = loss * (1 - min(a.lr, 0.9)) * scale + 0.01
    print(f"epoch {epoch}: training on {socket.gethostname()} pid {os.getpid()}", flush=True)
    metrics.write(json.dumps({"epoch": epoch, "val_loss": loss}) + "\\n")
    metrics.flush()
with open(os.path.join(os.environ["AFT_RUN_DIR"], "model.pt"), "wb") as fh:
    fh.write(b"w" * 1024 * a.model_kb if a.model_kb != 7 else b"weights" * 1000)
print("done", flush=True)
'''


def make_project(root: Path, name: str = "proj") -> Path:
    """A git project whose data folder is ignored (so it reaches the nodes as a link, not in the commit)."""
    project = root / name
    (project / "data").mkdir(parents=True)
    (project / "train.py").write_text(SCRIPT)
    (project / "data" / "scale.txt").write_text("1.0\n")
    (project / ".gitignore").write_text("outputs/\ndata/\n")
    git(project, "init", "-q", "-b", "main")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "initial")
    return project


def cluster_env(cluster) -> dict[str, str]:
    """aft's environment for a run against the test cluster (never the machine's own address)."""
    return cluster.env(aft_env())


def results(project: Path) -> list[dict]:
    path = project / "outputs" / "results.json"
    return json.loads(path.read_text()) if path.exists() else []


def running_notes(project: Path) -> list[dict]:
    folder = project / ".aft" / "running"
    notes = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            notes.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            continue  # being rewritten
    return notes


def wait_for(predicate, timeout: float, what: str, proc: subprocess.Popen | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        if proc is not None and proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"aft ended (rc {proc.returncode}) before {what}:\n{out[-3000:]}\n{err[-3000:]}")
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def trial_processes(cluster) -> list[int]:
    """The scripts of this cluster's trials still running, on either node (the namespace shares the
    process table); found by the mark every process of the cluster inherits, so a test never sees
    another test's cluster."""
    mark = f"{CLUSTER_MARK}={cluster.netns}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes()
            environ = Path(f"/proc/{entry}/environ").read_bytes()
        except OSError:
            continue
        if b"train.py" in cmd and mark in environ.split(b"\0"):
            found.append(int(entry))
    return found


def kill_all(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
