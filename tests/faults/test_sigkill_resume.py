"""SIGKILL of AFT during a trial: the trial dies with it, and a resume records the trial as
cancelled, never runs it twice at once, and stops it if it is somehow still running."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.conftest import ROOT, git
from tests.engine.helpers import aft, aft_env, aft_popen, results, session_ids

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="process groups and SIGKILL are POSIX")

# Each launch of the script counts itself in $TRIAL_STATE/starts/. Launch $SLOW_LAUNCH is the slow
# trial: it starts a child, prints nothing and sleeps. Every launch takes an exclusive lock on
# $TRIAL_STATE/device.lock for its whole life and notes in $TRIAL_STATE/overlap when it cannot:
# that is two trials training at once (on a GPU box, on the same GPU).
SCRIPT = '''\
import argparse, fcntl, json, os, subprocess, sys, time
p = argparse.ArgumentParser()
p.add_argument("--lr", type=float, default=0.01)
a = p.parse_args()
state = os.environ["TRIAL_STATE"]
device = open(os.path.join(state, "device.lock"), "w")
try:
    fcntl.flock(device, fcntl.LOCK_EX | fcntl.LOCK_NB)
except OSError:
    with open(os.path.join(state, "overlap"), "a") as f:
        f.write(f"{os.getpid()}\\n")
starts = os.path.join(state, "starts")
n = len(os.listdir(starts)) + 1
info = {"pid": os.getpid(), "pgid": os.getpgid(0), "lr": a.lr}
slow = n == int(os.environ.get("SLOW_LAUNCH", "0"))
if slow:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    info["child"] = child.pid
with open(os.path.join(starts, f"{n}.json.tmp"), "w") as f:
    json.dump(info, f)
os.replace(os.path.join(starts, f"{n}.json.tmp"), os.path.join(starts, f"{n}.json"))
if slow:
    time.sleep(60)
print(f"val_loss: {abs(a.lr - 0.05) + 0.1:.4f}", flush=True)
'''

GUARD_SCRIPT = "watchdog.py"


def _group(pgid: int) -> list[psutil.Process]:
    """Processes of group `pgid` still running (a zombie only awaits its reaper)."""
    found = []
    for proc in psutil.process_iter(["status"]):
        try:
            if os.getpgid(proc.pid) == pgid and proc.info["status"] != psutil.STATUS_ZOMBIE:
                found.append(proc)
        except (OSError, psutil.Error):
            continue
    return found


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _wait(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


@pytest.fixture
def setup(git_project, tmp_path: Path):
    src = tmp_path / "train.py"
    src.write_text(SCRIPT)
    project = git_project(src)
    state = tmp_path / "state"
    (state / "starts").mkdir(parents=True)
    env = aft_env(TRIAL_STATE=str(state), SLOW_LAUNCH="2")
    yield project, state, env
    for path in (state / "starts").glob("*.json"):  # never leave a test's trial behind
        info = json.loads(path.read_text())
        for pid in (info.get("child"), info["pid"]):
            if isinstance(pid, int) and pid > 1:  # psutil.Process(None) would be this very process
                try:
                    psutil.Process(pid).kill()
                except psutil.Error:
                    pass


def _kill_during_slow_trial(project: Path, state: Path, env: dict[str, str], *, guard_too: bool) -> dict:
    """Start `aft tune`, wait for the slow trial 2, SIGKILL AFT (and first its guard, if asked)."""
    proc = aft_popen(project, "tune", "train.py", "--trials", "3", "--metric", "val_loss", "--direction", "min",
                     "--seed", "1", "--yes", env=env)
    try:
        slow = state / "starts" / "2.json"
        if not _wait(slow.exists, 120):
            pytest.fail("trial 2 never started:\n" + proc.stderr.read() if proc.poll() is not None else "timeout")
        info = json.loads(slow.read_text())
        if guard_too:
            guards = [c for c in psutil.Process(proc.pid).children()
                      if any(GUARD_SCRIPT in part for part in c.cmdline())]
            assert len(guards) == 1, "AFT runs no guard process beside its trial"
            guards[0].kill()
            assert _wait(lambda: not _running(guards[0].pid), 10)  # a zombie until AFT reaps it
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    return info


def _check_resumed(project: Path, state: Path, env: dict[str, str], slow: dict) -> str:
    """Resume and check what a person would: nothing ran twice at once, trial 2 is recorded as
    cancelled with its commit, `aft runs` and `aft compare` see it, the budget is complete."""
    (sid,) = session_ids(project)
    resumed = aft(project, "tune", "--resume", sid, env=env)
    out = resumed.stdout + resumed.stderr
    assert resumed.returncode == 0, out
    assert "Traceback" not in out
    assert not (state / "overlap").exists(), "a resumed trial ran while the killed one still did"

    runs = sorted(results(project), key=lambda r: r["number"])
    assert [r["number"] for r in runs] == [1, 2, 3, 4]
    assert len({r["run_id"] for r in runs}) == 4
    killed = runs[1]
    assert killed["status"] == "cancelled" and killed["run_id"].startswith(sid)
    assert killed["params"]["lr"] == pytest.approx(slow["lr"])
    assert killed["tag"] and killed["commit"] == git(project, "rev-parse", f"{killed['tag']}^{{commit}}")
    assert [r["status"] for r in runs if r is not killed] == ["ok", "ok", "ok"]  # the budget: 3 counted
    # Optuna was told: the killed trial's parameters ran again as the next trial.
    assert runs[2]["strategy"] == "requeued" and runs[2]["params"] == killed["params"]
    assert not list((project / ".aft" / "running").glob("*.json"))

    listed = aft(project, "runs", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    assert [(r["number"], r["status"]) for r in json.loads(listed.stdout)][:2] == [(1, "ok"), (2, "cancelled")]
    table = aft(project, "runs", env=env)
    assert "cancelled" in table.stdout
    compared = aft(project, "compare", "2", "3", env=env)
    assert compared.returncode == 0, compared.stderr
    assert killed["commit"][:10] in compared.stdout and runs[2]["commit"][:10] in compared.stdout
    return out


def test_sigkill_stops_the_trial_and_resume_records_it(setup) -> None:
    project, state, env = setup
    slow = _kill_during_slow_trial(project, state, env, guard_too=False)
    listed = aft(project, "sessions", env=env)
    assert " interrupted " in listed.stdout and " running " not in listed.stdout, listed.stdout  # its AFT is gone
    # The trial's whole group (the script and the child it started) goes within a couple of seconds.
    assert _wait(lambda: not _group(slow["pgid"]), 5), [p.cmdline() for p in _group(slow["pgid"])]
    assert not _running(slow["child"])
    out = _check_resumed(project, state, env, slow)
    assert "still running" not in out  # nothing was left to stop


def test_resume_stops_a_trial_left_running(setup) -> None:
    """The guard killed with AFT cannot stop the trial: the resume must, before anything runs."""
    project, state, env = setup
    slow = _kill_during_slow_trial(project, state, env, guard_too=True)
    time.sleep(3)
    assert _running(slow["pid"]) and _running(slow["child"]), "the fault was not injected: the trial is gone"
    out = _check_resumed(project, state, env, slow)
    text = " ".join(out.split())  # the terminal view wraps long lines
    assert text.count("still running") == 1, out
    assert re.search(r"Trial 2 \(\S+\) was still running [^.]*; it was stopped", text), out
    assert not _group(slow["pgid"])
    assert not _running(slow["pid"]) and not _running(slow["child"])
    killed = next(r for r in results(project) if r["number"] == 2)
    assert killed["duration"] >= 3  # it ran until the resume stopped it


def test_reopening_the_session_stops_a_leftover_before_anything_runs(setup) -> None:
    """Whatever a resumed session does first (a chat, a smoke run of a pipeline), the leftover is
    stopped as the session reopens, not only once tuning starts."""
    project, state, env = setup
    slow = _kill_during_slow_trial(project, state, env, guard_too=True)
    assert _running(slow["pid"]), "the fault was not injected: the trial is gone"
    (sid,) = session_ids(project)
    chat = subprocess.run([sys.executable, "-m", "aft_tui", "chat", "--plain", "--resume", sid], cwd=project,
                          input="/quit\n", capture_output=True, text=True, timeout=120, env=env)
    out = " ".join((chat.stdout + chat.stderr).split())
    assert chat.returncode == 0, out
    assert re.search(r"Trial 2 \(\S+\) was still running [^.]*; it was stopped", out), out
    assert not _group(slow["pgid"]) and not _running(slow["child"])
    _check_resumed(project, state, env, slow)  # the tuner still records it as cancelled, once


LAUNCH_FROM_A_THREAD = """\
import asyncio, sys, threading, time
from pathlib import Path
from aft_tui.runs.launch_request import LaunchRequest
from aft_tui.runs.launcher import TrialProcess

run_dir = Path(sys.argv[1])
script = "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); time.sleep(60)"
request = LaunchRequest(command=[sys.executable, "-c", script], cwd=run_dir, run_dir=run_dir,
                        log_path=run_dir / "trial.log", metrics_path=run_dir / "metrics.jsonl")

def worker():  # the trial is launched from an event loop in a worker thread, as a UI's worker does
    async def launch():
        trial = TrialProcess(request)
        task = asyncio.ensure_future(trial.run())
        while trial.pid is None:
            await asyncio.sleep(0.01)
        print(trial.pid, flush=True)
        await task
    asyncio.run(launch())

threading.Thread(target=worker, daemon=True).start()
time.sleep(60)
"""


def test_trial_launched_from_a_worker_thread_dies_with_its_host(tmp_path: Path) -> None:
    """A parent-death signal is tied to the thread that forked; the guard is not: a trial launched
    from a worker thread's event loop keeps running while AFT lives, and its group dies with AFT."""
    host = tmp_path / "host.py"
    host.write_text(LAUNCH_FROM_A_THREAD)
    proc = subprocess.Popen([sys.executable, str(host), str(tmp_path)], stdout=subprocess.PIPE, text=True,
                            env=aft_env(), cwd=ROOT)
    try:
        pgid = int(proc.stdout.readline())
        assert _wait(lambda: len(_group(pgid)) == 2, 10)  # the script and its child
        time.sleep(0.5)
        assert len(_group(pgid)) == 2  # nothing stopped it early
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        assert _wait(lambda: not _group(pgid), 5), [p.cmdline() for p in _group(pgid)]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        for leftover in _group(pgid) if "pgid" in locals() else []:
            leftover.kill()


def _sleeping_group() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)


def test_a_killed_guard_is_replaced_and_told_every_running_group() -> None:
    """Someone kills the guard mid-session: the next trial starts a new one, which also watches the
    trials already running; when AFT's end of the pipe closes, it stops them all."""
    from aft_tui.runs.watchdog import Guard

    guard = Guard()
    first, second, done = _sleeping_group(), _sleeping_group(), _sleeping_group()
    try:
        guard.watch(first.pid)
        guard.watch(done.pid)
        old = guard.pid
        assert old is not None
        psutil.Process(old).kill()
        psutil.Process(old).wait(10)
        guard.release(done.pid)  # over: a new guard must not stop it
        guard.watch(second.pid)
        assert guard.pid not in (None, old)
        new = psutil.Process(guard.pid)
        time.sleep(0.3)
        assert first.poll() is None and second.poll() is None  # the guard stops nothing while AFT lives
        guard._close()  # what the kernel does when AFT dies
        assert first.wait(5) is not None and second.wait(5) is not None
        new.wait(5)
        assert done.poll() is None
    finally:
        for proc in (first, second, done):
            proc.kill()
            proc.wait()


def test_resume_leaves_alone_a_trial_whose_aft_still_runs(setup) -> None:
    """A trial in flight in an AFT that is alive (the same session opened twice) is not a
    leftover: a resume neither stops it nor records it."""
    project, state, env = setup
    env = dict(env, SLOW_LAUNCH="0")
    first = aft(project, "tune", "train.py", "--trials", "1", "--metric", "val_loss", "--direction", "min", "--yes",
                env=env)
    assert first.returncode == 0, first.stdout + first.stderr
    (sid,) = session_ids(project)
    (done,) = results(project)
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    try:
        me = psutil.Process()
        note = {"session": sid, "run_id": f"{sid}-t009", "number": 9, "optuna_trial": 8, "params": done["params"],
                "strategy": "tpe", "rationale": "", "commit": done["commit"], "tag": done["tag"],
                "command": done["command"], "started_at": time.time(), "aft_pid": me.pid,
                "aft_started": me.create_time(), "pid": other.pid, "pgid": other.pid,
                "started": psutil.Process(other.pid).create_time()}
        planted = project / ".aft" / "running" / f"{sid}-t009.json"
        planted.parent.mkdir(parents=True, exist_ok=True)
        planted.write_text(json.dumps(note))
        resumed = aft(project, "tune", "--resume", sid, "--trials", "2", env=env)
        assert resumed.returncode == 0, resumed.stdout + resumed.stderr
        assert other.poll() is None and "still running" not in resumed.stdout
        assert [r["number"] for r in results(project)] == [1, 2]
        assert planted.exists()  # its own AFT clears it when it records the trial
    finally:
        other.kill()
        other.wait()


def test_a_session_running_in_a_live_aft_is_not_resumed_beside_it(setup) -> None:
    """Two AFTs on one session would commit to one branch and run its trials twice over."""
    project, state, env = setup
    proc = aft_popen(project, "tune", "train.py", "--trials", "3", "--metric", "val_loss", "--direction", "min",
                     "--yes", env=env)
    try:
        assert _wait((state / "starts" / "2.json").exists, 120), "trial 2 never started"
        (sid,) = session_ids(project)
        listed = aft(project, "sessions", env=env)
        assert " running " in listed.stdout, listed.stdout
        second = aft(project, "tune", "--resume", sid, env=env)
        assert second.returncode == 2, second.stdout + second.stderr
        assert f"Session {sid} is running in another AFT (process {proc.pid})" in " ".join(second.stderr.split())
        assert "Traceback" not in second.stderr
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()
