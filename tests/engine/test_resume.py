"""SIGKILL mid-session, then resume: no finished trial lost, none counted twice."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest

from tests.engine.helpers import aft, aft_env, aft_popen, results, session_ids
from tests.engine.test_bad_input import SCRIPT


def test_sigkill_then_resume(git_project, tmp_path: Path):
    src = tmp_path / "train.py"
    src.write_text(SCRIPT)
    project = git_project(src)
    env = aft_env(MODE="slow")
    proc = aft_popen(project, "tune", "train.py", "--trials", "4", "--metric", "val_loss", "--direction", "min",
                     "--yes", env=env)
    deadline = time.time() + 90
    # Wait until one trial has finished and the next one is running.
    while time.time() < deadline:
        runs = results(project)
        logs = list((project / ".aft" / "sessions").glob("*.jsonl")) if (project / ".aft" / "sessions").exists() else []
        started = logs[0].read_text().count('"trial_started"') if logs else 0
        if len(runs) >= 1 and started >= 2:
            break
        time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail("the first trial never finished")
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    finished_before = {r["run_id"]: r for r in results(project) if r["status"] == "ok"}
    assert finished_before
    time.sleep(4)  # let the orphaned trial end on its own (it is not AFT's any more)

    (sid,) = session_ids(project)
    resumed = aft(project, "tune", "--resume", sid, env=env)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "Traceback" not in resumed.stderr
    runs = results(project)
    counted = [r for r in runs if r["status"] in ("ok", "failed", "pruned", "timeout")]
    assert len(counted) == 4
    assert len({r["run_id"] for r in runs}) == len(runs)  # none twice
    for run_id, before in finished_before.items():
        after = next(r for r in runs if r["run_id"] == run_id)
        assert after == before  # no finished trial lost or rewritten
    log = (project / ".aft" / "sessions" / f"{sid}.jsonl").read_text().splitlines()
    assert any(json.loads(line).get("kind") == "session_started" and json.loads(line).get("resumed") for line in log)
