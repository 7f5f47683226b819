"""A session's recorded status tells the truth, and bad input leaves no session behind.

Bad input used to be found after the session existed: each typo left a branch, a worktree and
a state file saying "running" forever. It is now refused before anything is created; a
failure only the session can find removes a session that did nothing and marks one that did
something "failed" (resumable). Every command that ends records finished, failed or interrupted.
"""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest

from tests.conftest import git
from tests.engine.helpers import aft, aft_env, aft_popen, results, session_ids

SCRIPT = '''\
import argparse, os, time
p = argparse.ArgumentParser()
p.add_argument("--lr", type=float, default=0.01)
p.add_argument("--epochs", type=int, default=2)
a = p.parse_args()
if os.environ.get("SLOW"):
    print("loading", flush=True)
    time.sleep(float(os.environ["SLOW"]))
for e in range(1, a.epochs + 1):
    print(f"epoch {e} val_loss: {abs(a.lr - 0.05) + 1.0 / e:.4f}", flush=True)
'''


@pytest.fixture
def project(git_project, tmp_path: Path) -> Path:
    (tmp_path / "train.py").write_text(SCRIPT)
    (tmp_path / "broken.py").write_text("import argparse\ndef f(:\n    pass\n")
    return git_project(tmp_path / "train.py", tmp_path / "broken.py")


def _statuses(project: Path) -> dict[str, str]:
    folder = project / ".aft" / "sessions"
    return {p.stem: json.loads(p.read_text())["status"] for p in folder.glob("*.json")} if folder.is_dir() else {}


def _assert_nothing_created(project: Path) -> None:
    assert git(project, "branch", "--list", "aft*") == ""
    assert git(project, "tag", "--list", "aft*") == ""
    assert len(git(project, "worktree", "list").splitlines()) == 1
    assert not list((project / ".aft").glob("worktrees/*"))
    assert not list((project / ".aft").glob("sessions/*"))
    assert not list((project / ".aft").glob("vcs/*"))
    listing = aft(project, "sessions")
    assert listing.returncode == 0 and "running" not in listing.stdout


@pytest.mark.parametrize("args,needle", [
    (("tune", "broken.py"), "broken.py:2: invalid syntax"),
    (("pipeline", "broken.py"), "broken.py:2: invalid syntax"),
    (("refactor", "broken.py"), "broken.py:2: invalid syntax"),
    (("tune", "train.py", "--strategy", "bogus"), "Unknown strategy 'bogus'"),
    (("pipeline", "train.py", "--strategy", "bogus"), "Unknown strategy 'bogus'"),
    (("tune", "train.py", "--params", "bogus"), "no parameter named bogus"),
    (("pipeline", "train.py", "--params", "lr,bogus"), "no parameter named bogus"),
    (("tune", "train.py", "--trials", "0"), "trials must be"),
])
def test_bad_input_creates_nothing(project: Path, args: tuple[str, ...], needle: str):
    proc = aft(project, *args, "--yes")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    errors = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and needle in errors[0], proc.stderr
    assert "Started session" not in proc.stdout
    _assert_nothing_created(project)


@pytest.mark.parametrize("table,needle", [
    ("[search.lr]\nlow = 0.5\nhigh = 0.1\n", "[search.lr] needs low < high"),
    ("[search.momentum]\nlow = 0.1\nhigh = 0.9\n", "'momentum' is in the search space"),
])
def test_a_search_table_that_cannot_work_creates_nothing(project: Path, table: str, needle: str):
    (project / "aft.toml").write_text(table)
    proc = aft(project, "tune", "train.py", "--trials", "1", "--yes")
    assert proc.returncode == 2
    assert needle in proc.stderr and "Started session" not in proc.stdout
    _assert_nothing_created(project)


def test_a_failure_found_inside_an_empty_session_removes_it(project: Path):
    """Which way a metric goes is known only once the session runs: nothing was done, nothing is left."""
    proc = aft(project, "tune", "train.py", "--trials", "1", "--metric", "weird", "--yes")
    assert proc.returncode == 2
    assert "cannot tell whether 'weird' should go up or down" in proc.stderr
    _assert_nothing_created(project)


def test_a_failure_after_work_marks_the_session_failed_and_resumable(project: Path):
    """The refactor was committed, then tuning could not start: the work is kept, the status says failed."""
    proc = aft(project, "pipeline", "train.py", "--trials", "1", "--metric", "weird", "--yes")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    (sid,) = session_ids(project)
    assert _statuses(project) == {sid: "failed"}
    assert "failed" in aft(project, "sessions").stdout
    log = (project / ".aft" / "sessions" / f"{sid}.jsonl").read_text()
    assert '"reason": "failed"' in log
    # The cause fixed on the command line, the same session goes on from its refactor.
    proc = aft(project, "pipeline", "--resume", sid, "--direction", "min", "--metric", "val_loss", "--trials", "1")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert _statuses(project) == {sid: "finished"}
    assert [r["status"] for r in results(project)] == ["ok"]


def test_a_finished_refactor_is_listed_as_finished(project: Path):
    proc = aft(project, "refactor", "train.py", "--yes")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (sid,) = session_ids(project)
    assert _statuses(project) == {sid: "finished"}
    listing = aft(project, "sessions").stdout
    assert "finished" in listing and "running" not in listing


def test_an_interrupted_refactor_stops_its_smoke_run_at_once_and_is_listed_as_interrupted(project: Path):
    proc = aft_popen(project, "refactor", "train.py", "--yes", env=aft_env(SLOW="60"))
    deadline = time.time() + 60
    while not list((project / "outputs").glob("*smoke1/*.log")) and time.time() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    sent = time.monotonic()
    out, err = proc.communicate(timeout=60)
    # The smoke run (a minute long) is cancelled, not waited for; no run of the original or
    # bisection follows, and the cancelled run is not taken for a broken refactor.
    assert time.monotonic() - sent < 20, out
    assert proc.returncode == 130, out + err
    assert "Traceback" not in err
    assert "Stopped during the refactor's smoke runs; nothing of it was committed." in out
    assert "Smoke run" in out and "-original" not in out and "-bisect" not in out and "Repair" not in out
    (sid,) = session_ids(project)
    assert git(project, "log", "--format=%s", f"aft/{sid}").count("refactor") == 0
    assert _statuses(project) == {sid: "interrupted"}
    assert "running" not in aft(project, "sessions").stdout


def test_the_python_api_checks_first_and_records_the_same_statuses(project: Path, monkeypatch: pytest.MonkeyPatch):
    import aft_tui.api as api
    from aft_tui.errors import UserError

    monkeypatch.chdir(project)
    with pytest.raises(UserError, match="Unknown strategy 'bogus'"):
        api.tune("train.py", strategy="bogus", quiet=True)
    _assert_nothing_created(project)
    assert api.refactor("train.py", quiet=True)["ok"] is True
    assert [s["status"] for s in api.sessions()] == ["finished"]


def test_a_smoke_run_killed_from_outside_is_not_blamed_on_the_refactor(project: Path):
    import psutil

    proc = aft_popen(project, "refactor", "train.py", "--yes", env=aft_env(SLOW="60"))
    deadline = time.time() + 60
    script = None
    def cmdline(child: psutil.Process) -> str:
        try:
            return " ".join(child.cmdline())
        except (psutil.Error, ProcessLookupError):  # a short-lived child (git) gone between the two calls
            return ""

    while script is None and time.time() < deadline:
        children = psutil.Process(proc.pid).children(recursive=True)
        script = next((c for c in children if "train.py" in cmdline(c)), None)
        time.sleep(0.1)
    assert script is not None
    time.sleep(0.5)
    script.terminate()  # a `kill`, a job limit, a shutdown: not something the refactor did
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, out + err
    assert "killed by signal 15 (SIGTERM) from outside it" in out
    assert "-original" not in out and "-bisect" not in out and "Repair" not in out  # nothing bisected
    (sid,) = session_ids(project)
    assert git(project, "log", "--format=%s", f"aft/{sid}").count("refactor") == 0
