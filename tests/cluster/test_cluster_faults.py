"""Faults on a real two-node Ray cluster: a node lost mid-trial, AFT killed mid-trial and resumed.
Nothing is lost, nothing is counted twice, and no script outlives its trial."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from tests.cluster.project import (cluster_env, kill_all, make_project, results, running_notes, trial_processes,
                                   wait_for)
from tests.engine.helpers import aft, aft_popen

LONG = ("--metric", "val_loss", "--direction", "min", "--pruner", "none", "--params", "lr", "--yes")


def _started_on(project: Path, count: int) -> list[dict]:
    notes = [n for n in running_notes(project) if (n.get("cluster") or {}).get("pid")]
    return notes if len(notes) >= count else []


def _two_running(cluster, project: Path, trials: int, epochs: int, sleep: float):
    """Start `aft tune` on the cluster, two trials at once; return it once both scripts run."""
    proc = aft_popen(project, "tune", "train.py", "--cluster", cluster.address, "--trials", str(trials), "--parallel",
                     "2", *LONG, "--", "--epochs", str(epochs), "--sleep", str(sleep), env=cluster_env(cluster))
    try:
        notes = wait_for(lambda: _started_on(project, 2), 90, "two trials running on the cluster", proc)
        wait_for(lambda: len(trial_processes(cluster)) >= 2, 30, "both scripts to run")
    except BaseException:
        proc.kill()
        raise
    return proc, notes


def test_killed_aft_leaves_nothing_running_and_a_resume_neither_loses_nor_double_counts(ray_cluster,
                                                                                      tmp_path: Path) -> None:
    project = make_project(tmp_path)
    env = cluster_env(ray_cluster)
    proc, notes = _two_running(ray_cluster, project, trials=3, epochs=20, sleep=0.3)
    try:
        assert {n["cluster"]["node_ip"] for n in notes} == {ray_cluster.head_ip, ray_cluster.node_ip}
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    # Ray ends a dead driver's actors; each actor's guard ends its script, on either node.
    try:
        wait_for(lambda: not trial_processes(ray_cluster), 45, "the killed session's scripts to stop")
    finally:
        kill_all(trial_processes(ray_cluster))
    session = notes[0]["session"]
    done = aft(project, "tune", "--resume", session, "--yes", env=env, timeout=240)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    records = results(project)
    run_ids = [r["run_id"] for r in records]
    assert len(run_ids) == len(set(run_ids)), "a trial was recorded twice"
    interrupted = {n["run_id"] for n in notes}
    assert {r["run_id"] for r in records if r["status"] == "cancelled"} == interrupted
    assert sum(r["status"] == "ok" for r in records) == 3, [(r["run_id"], r["status"]) for r in records]
    assert not running_notes(project)
    assert not trial_processes(ray_cluster)
    assert not ray_cluster.trial_folders()  # the killed session's folders went with the next trials


def test_a_node_lost_mid_trial_reruns_that_trial_once_on_another_node_and_records_it(ray_cluster,
                                                                                     tmp_path: Path) -> None:
    project = make_project(tmp_path)
    proc, notes = _two_running(ray_cluster, project, trials=2, epochs=12, sleep=0.4)
    try:
        on_second = next(n["run_id"] for n in notes if n["cluster"]["node_ip"] == ray_cluster.node_ip)
        ray_cluster.kill_second_node()
        out, err = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()
        kill_all(trial_processes(ray_cluster))
    assert proc.returncode == 0, out[-3000:] + err[-3000:]
    records = {r["run_id"]: r for r in results(project)}
    assert len(records) == 2 and all(r["status"] == "ok" for r in records.values())
    moved = records[on_second]
    assert moved["node"]["node_ip"] == ray_cluster.head_ip
    assert moved["node"]["lost_node"]["node_ip"] == ray_cluster.node_ip
    assert "lost" in moved["node"]["lost_node"]["error"]
    # The first attempt's epochs are set aside: the record holds the re-run's alone.
    assert [row["epoch"] for row in moved["history"]] == list(range(1, 13))
    log = Path(moved["log"]).read_text()
    assert f"node {ray_cluster.node_ip} was lost" in log and "runs again from the start on another node" in log
    listing = aft(project, "runs", env={**cluster_env(ray_cluster), "COLUMNS": "200"}, timeout=60).stdout
    assert f"{ray_cluster.head_ip} ↻ from {ray_cluster.node_ip}" in listing
    assert not trial_processes(ray_cluster)
