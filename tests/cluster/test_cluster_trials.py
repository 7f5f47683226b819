"""Tuning on a real two-node Ray cluster: trials on both nodes, live output and metrics, pruning
and cancels reaching the script on its node, the model and logs back in outputs/."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from tests.cluster.project import cluster_env, make_project, results, trial_processes, wait_for
from tests.conftest import ROOT
from tests.engine.helpers import aft


def test_trials_run_on_both_nodes_with_live_logs_metrics_and_their_models_back(ray_cluster, tmp_path: Path) -> None:
    project = make_project(tmp_path)
    env = cluster_env(ray_cluster)
    done = aft(project, "tune", "train.py", "--cluster", ray_cluster.address, "--trials", "4", "--parallel", "2",
               "--metric", "val_loss", "--direction", "min", "--pruner", "none", "--yes", env=env, timeout=240)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    records = results(project)
    assert [r["status"] for r in records] == ["ok"] * 4
    assert {r["node"]["node_ip"] for r in records} == {ray_cluster.head_ip, ray_cluster.node_ip}
    ids = ray_cluster.node_ids()
    for record in records:
        assert record["node"]["node_id"] == ids[record["node"]["node_ip"]]
        epochs = int({**record["fixed"], **record["params"]}.get("epochs", 4))
        assert [row["epoch"] for row in record["history"]] == list(range(1, epochs + 1))
        log = Path(record["log"]).read_text()
        assert f"epoch {epochs}: training" in log and "done" in log
        model = Path(record["model_path"])
        assert model.is_file() and model.read_bytes() == b"weights" * 1000
        assert project / "outputs" in model.parents
    # Live: each trial's metrics reached the session log while it ran, not all at its end.
    session = records[0]["session"]
    events = [json.loads(line) for line in (project / ".aft" / "sessions" / f"{session}.jsonl").read_text().splitlines()]
    for record in records:
        metric_times = [e["ts"] for e in events if e.get("kind") == "trial_metric" and e.get("run_id") == record["run_id"]]
        finished = [e["ts"] for e in events if e.get("kind") == "trial_finished" and e.get("run_id") == record["run_id"]]
        assert len(metric_times) >= 2 and finished
        assert finished[0] - metric_times[0] > 0.5, "the first epoch's metric arrived only at the end"
    assert not trial_processes(ray_cluster), "a trial's script outlived its trial"
    assert not ray_cluster.trial_folders(), "a finished trial's folder stayed on its node"
    listing = aft(project, "runs", env={**env, "COLUMNS": "200"}, timeout=60).stdout
    assert "node" in listing and ray_cluster.head_ip in listing and ray_cluster.node_ip in listing


PRUNED_RUN = r'''
import asyncio, json, sys
from pathlib import Path
from aft_tui.engine.trial import TrialRun, TrialSpec
from aft_tui.runs.cluster.connect import connect, nodes, resources_for
from aft_tui.runs.cluster.executor import ClusterLaunch
from aft_tui.runs.cluster.bundle import CodeSource

worktree, commit, out = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
address = connect(sys.argv[4])
launch = ClusterLaunch(address=address, resources=resources_for(1, 0, None, nodes()),
                       code=CodeSource(worktree=worktree, commit=commit, rel_cwd=".",
                                       ship=(("data", worktree / "data"),)), actor_name="aft-prune-test")
spec = TrialSpec(run_id="r1", number=1, params={}, command=[sys.executable, "-u", str(worktree / "train.py"),
                 "--epochs", "60", "--sleep", "0.2", "--ignore-interrupt", "1"], cwd=worktree, run_dir=out / "r1",
                 log_path=out / "r1" / "r1.log", metrics_path=out / "r1" / "metrics.jsonl", cluster=launch)
def prune(value, step):
    return "worse than the median at step 3" if step >= 3 else None
run = TrialRun(spec, lambda event: None, "val_loss", "min", prune)
outcome = asyncio.run(run.run())
print(json.dumps({"status": outcome.status, "pruned_at": outcome.pruned_at, "reason": outcome.reason,
                  "placement": outcome.placement, "duration": outcome.duration}))
'''


def test_a_prune_reaches_the_script_on_its_node_even_one_that_ignores_ctrl_c(ray_cluster, tmp_path: Path) -> None:
    project = make_project(tmp_path)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=project, capture_output=True, text=True).stdout.strip()
    done = subprocess.run([sys.executable, "-c", PRUNED_RUN, str(project), commit, str(tmp_path / "out"),
                           ray_cluster.address], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env=cluster_env(ray_cluster))
    assert done.returncode == 0, done.stderr[-3000:]
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    assert outcome["status"] == "pruned" and outcome["pruned_at"] == 3
    assert outcome["placement"]["node_ip"] in (ray_cluster.head_ip, ray_cluster.node_ip)
    assert outcome["duration"] < 60 * 0.2, "the prune did not stop the script"
    log = (tmp_path / "out" / "r1" / "r1.log").read_text()
    assert "epoch 3" in log and "epoch 30" not in log
    wait_for(lambda: not trial_processes(ray_cluster), 10, "the pruned script to be gone")


def test_the_per_trial_timeout_stops_the_script_on_its_node(ray_cluster, tmp_path: Path) -> None:
    project = make_project(tmp_path)
    done = aft(project, "tune", "train.py", "--cluster", ray_cluster.address, "--trials", "1", "--timeout", "3",
               "--metric", "val_loss", "--direction", "min", "--yes", "--", "--epochs", "100", "--sleep", "0.2",
               env=cluster_env(ray_cluster), timeout=120)
    records = results(project)
    assert [r["status"] for r in records] == ["timeout"], done.stdout[-2000:] + done.stderr[-2000:]
    assert records[0]["duration"] < 20
    wait_for(lambda: not trial_processes(ray_cluster), 10, "the timed-out script to be gone")


def test_shipped_folders_reach_the_node_and_replace_the_link(ray_cluster, tmp_path: Path) -> None:
    project = make_project(tmp_path)
    (project / "data" / "scale.txt").write_text("0.5\n")
    done = aft(project, "tune", "train.py", "--cluster", ray_cluster.address, "--trials", "1", "--ship", "data",
               "--metric", "val_loss", "--direction", "min", "--yes", "--", "--epochs", "1", "--sleep", "0",
               env=cluster_env(ray_cluster), timeout=120)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    record = results(project)[0]
    assert record["status"] == "ok" and abs(record["value"] - (0.9 * 0.5 + 0.01)) < 1e-9


def test_doctor_lists_the_nodes(ray_cluster, tmp_path: Path) -> None:
    done = aft(tmp_path, "doctor", "--cluster", ray_cluster.address, env=cluster_env(ray_cluster), timeout=120)
    out = done.stdout
    assert f"cluster at {ray_cluster.address}: 2 live nodes" in " ".join(out.split())
    assert ray_cluster.head_ip in out and ray_cluster.node_ip in out


def test_with_leave_a_large_model_stays_on_its_node_and_the_record_says_where(ray_cluster, tmp_path: Path) -> None:
    project = make_project(tmp_path)
    done = aft(project, "tune", "train.py", "--cluster", ray_cluster.address, "--trials", "1",
               "--cluster-artifacts", "leave", "--metric", "val_loss", "--direction", "min", "--yes", "--",
               "--epochs", "1", "--sleep", "0", "--model-kb", "2048", env=cluster_env(ray_cluster), timeout=120)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    record = results(project)[0]
    left = record["node"]["left_on_node"]
    assert left["node_ip"] == record["node"]["node_ip"] and left["files"] == {"run/model.pt": 2048 * 1024}
    remote = Path(left["folder"]) / "run" / "model.pt"
    try:
        assert remote.is_file()  # the nodes share this machine's disk in the test
        assert Path(record["log"]).is_file() and "done" in Path(record["log"]).read_text()  # logs always come back
    finally:
        shutil.rmtree(left["folder"], ignore_errors=True)


def test_the_overhead_benchmark_measures_ray_against_local_in_one_run(ray_cluster, tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    done = subprocess.run([sys.executable, "-m", "benchmarks.cluster_overhead", "--address", ray_cluster.address,
                           "--trials", "4", "--json", str(out)], cwd=ROOT, capture_output=True, text=True,
                          timeout=240, env=cluster_env(ray_cluster))
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    data = json.loads(out.read_text())["data"]
    assert 0 < data["added_cycle"] < 10, data
    assert set(data["cluster"]["phases"]) == {"pack the commit", "place the actor and start the script",
                                              "run and stream", "bring the files back"}
    assert "Ray adds per trial (cycle)" in done.stdout


def test_research_runs_its_experiments_one_at_a_time_on_the_cluster_with_their_memory(ray_cluster,
                                                                                       tmp_path: Path) -> None:
    project = make_project(tmp_path)
    done = aft(project, "research", "train.py", "--cluster", ray_cluster.address, "--experiments", "4",
               "--metric", "val_loss", "--direction", "min", "--yes", "--", "--epochs", "3", "--sleep", "0.2",
               env=cluster_env(ray_cluster), timeout=240)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    records = sorted(results(project), key=lambda r: r["started_at"])
    assert len(records) == 4 and all(r["node"]["node_ip"] for r in records)
    for before, after in zip(records, records[1:]):
        assert before["finished_at"] <= after["started_at"] + 0.05, "two experiments ran at once"
    tsv = next((project / "outputs" / "research").glob("*/results.tsv")).read_text().splitlines()
    header = tsv[0].split("\t")
    memory = [line.split("\t")[header.index("memory_gb")] for line in tsv[1:]]
    assert len(memory) == 4 and all(float(m) > 0 for m in memory), tsv


def test_ctrl_c_ends_a_trial_still_waiting_for_a_node_at_once(ray_cluster, tmp_path: Path) -> None:
    """Three trials at once on a cluster that holds two: the third waits for a node. Ctrl-C ends
    all three, the waiting one without ever starting."""
    import signal

    from tests.cluster.project import running_notes
    from tests.engine.helpers import aft_popen

    project = make_project(tmp_path)
    proc = aft_popen(project, "tune", "train.py", "--cluster", ray_cluster.address, "--trials", "3", "--parallel", "3",
                     "--metric", "val_loss", "--direction", "min", "--params", "lr", "--yes", "--",
                     "--epochs", "100", "--sleep", "0.3", env=cluster_env(ray_cluster))
    try:
        wait_for(lambda: len([n for n in running_notes(project) if (n.get("cluster") or {}).get("pid")]) >= 2
                 and len(running_notes(project)) == 3, 90, "two trials running and one waiting", proc)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=40)
    finally:
        if proc.poll() is None:
            proc.kill()
    records = results(project)
    assert sorted(r["status"] for r in records) == ["cancelled"] * 3, out[-2000:] + err[-2000:]
    waited = [r for r in records if not r.get("node")]
    assert len(waited) == 1 and "[aft] running on node" not in Path(waited[0]["log"]).read_text()
    wait_for(lambda: not trial_processes(ray_cluster), 10, "the cancelled scripts to be gone")


def test_the_tuning_sessions_pruner_stops_hopeless_trials_on_the_cluster(ray_cluster, tmp_path: Path) -> None:
    """The session's own pruner (the median rule) stops trials on the nodes: a grid where two
    learning rates barely learn, run one at a time so the order is the seeded grid's."""
    project = make_project(tmp_path)
    (project / "aft.toml").write_text("[search.lr]\nchoices = [0.3, 0.31, 0.32, 0.33, 0.34, 0.35, 0.001]\n")
    done = aft(project, "tune", "train.py", "--cluster", ray_cluster.address, "--trials", "8", "--parallel", "1",
               "--strategy", "grid", "--params", "lr", "--pruner", "median", "--metric", "val_loss", "--direction",
               "min", "--yes", "--", "--epochs", "9", "--sleep", "0.5", env=cluster_env(ray_cluster), timeout=240)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    records = results(project)
    pruned = [r for r in records if r["status"] == "pruned"]
    assert pruned and all(r["params"]["lr"] < 0.01 for r in pruned), [(r["params"], r["status"]) for r in records]
    for record in pruned:
        assert record["node"]["node_ip"] in (ray_cluster.head_ip, ray_cluster.node_ip)
        assert len(record["history"]) < 9 and record["pruned_at"] < 9
    wait_for(lambda: not trial_processes(ray_cluster), 10, "the pruned scripts to be gone")


def test_a_chosen_interpreter_is_used_on_the_node(ray_cluster, tmp_path: Path) -> None:
    """--python names the interpreter the nodes run the script with (it must exist there, and here,
    where the refactor's proof runs; the test's nodes share this machine's disk). Without it, a
    node runs its Ray worker's own Python."""
    project = make_project(tmp_path)
    marker = tmp_path / "wrapper-used"
    chosen = tmp_path / "python-wrapper"
    chosen.write_text(f'#!/bin/sh\necho "$$" >> {marker}\nexec {sys.executable} "$@"\n')
    chosen.chmod(0o755)
    common = ("--cluster", ray_cluster.address, "--trials", "1", "--metric", "val_loss", "--direction", "min", "--yes",
              "--", "--epochs", "1", "--sleep", "0")
    done = aft(project, "tune", "train.py", "--python", str(chosen), *common, env=cluster_env(ray_cluster),
               timeout=120)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert results(project)[0]["status"] == "ok"
    assert marker.is_file() and len(marker.read_text().split()) == 1  # the node ran the script through it
    other = make_project(tmp_path, "other")
    done = aft(other, "tune", "train.py", *common, env=cluster_env(ray_cluster), timeout=120)
    assert done.returncode == 0 and results(other)[0]["status"] == "ok"
    assert len(marker.read_text().split()) == 1  # no --python: the node's own Python, not this one
