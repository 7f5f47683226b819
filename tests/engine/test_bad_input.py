"""Bad input: one clear line, the right exit code, no traceback, nothing lost."""

from __future__ import annotations

import os
import signal
import stat
import time
from pathlib import Path

import pytest

from tests.engine.helpers import aft, aft_env, aft_popen, results, session_ids, tree_fingerprint

SCRIPT = '''\
import argparse, json, os, sys, time
p = argparse.ArgumentParser()
p.add_argument("--lr", type=float, default=0.01)
p.add_argument("--epochs", type=int, default=3)
a = p.parse_args()
mode = os.environ.get("MODE", "ok")
if mode == "crash_start":
    raise RuntimeError("cannot load the dataset")
for e in range(1, a.epochs + 1):
    if mode == "hang":
        time.sleep(60)
    if mode == "nan":
        print(f"epoch {e} val_loss: nan", flush=True)
        continue
    if mode == "silent":
        print("training...", flush=True)
        continue
    if mode == "malformed" and os.environ.get("AFT_METRICS"):
        with open(os.environ["AFT_METRICS"], "a") as f:
            f.write("this is not json\\n")
            f.write(json.dumps({"epoch": e, "val_loss": abs(a.lr - 0.05) + 1.0 / e}) + "\\n")
    print(f"epoch {e} val_loss: {abs(a.lr - 0.05) + 1.0 / e:.4f}", flush=True)
    if mode == "midway" and e == 2:
        sys.exit(3)
    if mode == "slow":
        time.sleep(1.0)
'''


@pytest.fixture
def project(git_project, tmp_path: Path) -> Path:
    src = tmp_path / "train.py"
    src.write_text(SCRIPT)
    return git_project(src)


def _run(project: Path, mode: str, *extra: str):
    return aft(project, "tune", "train.py", "--trials", "2", "--metric", "val_loss", "--direction", "min", "--yes",
               *extra, env=aft_env(MODE=mode))


def _one_line_error(proc) -> str:
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("aft: ")
    return lines[0]


@pytest.mark.parametrize("target,needle", [
    ("missing.py", "does not exist"),
    ("data", "is a folder"),
    ("notes.txt", "not a Python file"),
    ("nb.ipynb", "notebook"),
])
def test_bad_targets(project: Path, target: str, needle: str):
    (project / "data").mkdir()
    (project / "notes.txt").write_text("hello")
    (project / "nb.ipynb").write_text("{}")
    proc = aft(project, "tune", target, "--trials", "1", "--yes")
    assert proc.returncode == 2
    assert needle in _one_line_error(proc)


@pytest.mark.parametrize("option,value,needle", [
    ("--python", "/nonexistent/python3", "/nonexistent/python3"),
    ("--venv", "no-such-venv", "no-such-venv"),
])
def test_missing_interpreter(project: Path, option: str, value: str, needle: str):
    proc = aft(project, "tune", "train.py", "--trials", "1", option, value, "--yes")
    assert proc.returncode == 2
    assert needle in _one_line_error(proc)


def test_search_space_flag_the_script_does_not_accept(project: Path):
    (project / "aft.toml").write_text("[search.momentum]\nlow = 0.1\nhigh = 0.9\n")
    proc = aft(project, "tune", "train.py", "--trials", "1", "--yes")
    assert proc.returncode == 2
    assert "momentum" in _one_line_error(proc)


@pytest.mark.parametrize("mode,status,needle", [
    ("crash_start", "failed", "RuntimeError: cannot load the dataset"),
    ("midway", "failed", "exited with code 3"),
    ("nan", "failed", "nan"),
    ("silent", "failed", "never reported 'val_loss'"),
])
def test_failing_scripts_are_recorded_and_a_failing_baseline_stops(project: Path, mode: str, status: str, needle: str):
    proc = _run(project, mode)
    assert "Traceback" not in proc.stderr
    assert proc.returncode == 1  # no trial succeeded
    runs = results(project)
    # Trial 1 (the script's own configuration) failed: the budget is not spent. A diverging
    # baseline is the exception: other values may well converge, so tuning goes on.
    assert len(runs) == (2 if mode == "nan" else 1)
    for r in runs:
        assert r["status"] == status
        assert needle in r["reason"], r["reason"]
        assert r["diagnosis"]["sentence"]
    stopped = "Error: Trial 1, the script's own configuration, failed" in proc.stdout
    assert stopped == (mode != "nan")
    assert "No trial finished successfully" in proc.stdout


def test_hanging_script_times_out(project: Path):
    started = time.time()
    proc = _run(project, "hang", "--timeout", "2")
    assert time.time() - started < 60
    runs = results(project)
    assert [r["status"] for r in runs] == ["timeout", "timeout"]
    assert proc.returncode == 1


def test_malformed_metrics_line_is_skipped(project: Path):
    proc = _run(project, "malformed")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    runs = results(project)
    assert all(r["status"] == "ok" for r in runs)
    assert all(len(r["history"]) == r["params"]["epochs"] for r in runs)


def test_outputs_not_writable(project: Path):
    out = project / "outputs"
    out.mkdir()
    out.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        if os.access(out, os.W_OK):
            pytest.skip("running as a user who can write anywhere (root)")
        proc = _run(project, "ok")
        assert proc.returncode == 2
        assert "not writable" in _one_line_error(proc)
    finally:
        out.chmod(stat.S_IRWXU)


def test_outputs_not_writable_is_a_file(project: Path):
    (project / "outputs").write_text("not a folder")
    proc = _run(project, "ok")
    assert proc.returncode == 2
    assert "not writable" in _one_line_error(proc)


def test_ctrl_c_cancels_records_and_resumes(project: Path):
    proc = aft_popen(project, "tune", "train.py", "--trials", "2", "--metric", "val_loss", "--direction", "min",
                     "--yes", env=aft_env(MODE="slow"))
    sessions = project / ".aft" / "sessions"
    deadline = time.time() + 60
    while time.time() < deadline:
        logs = list(sessions.glob("*.jsonl")) if sessions.exists() else []
        if logs and '"trial_started"' in logs[0].read_text():
            break
        time.sleep(0.1)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, out + err
    assert "Traceback" not in err
    runs = results(project)
    assert [r["status"] for r in runs] == ["cancelled"]
    (sid,) = session_ids(project)
    assert f"aft tune --resume {sid}" in out
    resumed = aft(project, "tune", "--resume", sid, env=aft_env(MODE="ok"))
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    runs = results(project)
    finished = [r for r in runs if r["status"] == "ok"]
    assert len(finished) == 2
    # The cancelled trial's parameters (the defaults) ran again.
    assert finished[0]["params"] == runs[0]["params"]


def test_dirty_and_detached_user_repo_is_untouched(project: Path):
    from tests.conftest import git

    (project / "train.py").write_text(SCRIPT.replace("default=0.01", "default=0.02"))  # uncommitted edit
    (project / "notes.md").write_text("untracked")
    git(project, "checkout", "-q", "--detach")
    before = tree_fingerprint(project)
    proc = _run(project, "ok")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert tree_fingerprint(project) == before
    # The trial ran the user's uncommitted version (default lr 0.02).
    assert results(project)[0]["params"]["lr"] == 0.02


@pytest.mark.parametrize("toml,extra,needle", [
    ("[search.lr]\nlow = 0\nhigh = 0.1\nlog = true\n", (), "log = true needs low > 0"),
    ("[search.lr]\nchoices = []\n", (), "choices must be a non-empty list"),
    ("", ("--timeout", "-5"), "timeout must be a positive number"),
])
def test_impossible_search_tables_and_limits_are_one_sentence(project: Path, toml: str, extra: tuple, needle: str):
    if toml:
        (project / "aft.toml").write_text(toml)
    proc = aft(project, "tune", "train.py", "--trials", "1", "--yes", *extra)
    assert proc.returncode == 2
    assert needle in _one_line_error(proc)
