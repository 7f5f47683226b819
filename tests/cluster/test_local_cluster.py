"""The two-node cluster itself: both nodes work, a node can be lost, nothing outlives the cluster."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.cluster.local_cluster import ClusterError, LocalRayCluster, alive_pids, link_exists, netns_names

# A lost node must be noticed quickly, or trials on it would hang for the default half a minute.
DEATH_NOTICED_WITHIN_S = 10.0

PINNED_TASKS = textwrap.dedent("""
    import json, ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy
    ray.init(logging_level="ERROR", log_to_driver=False)

    @ray.remote(num_cpus=1)
    def where():
        return [ray.util.get_node_ip_address(), ray.get_runtime_context().get_node_id()]

    nodes = {n["NodeManagerAddress"]: n["NodeID"] for n in ray.nodes() if n["Alive"]}
    ran = {ip: ray.get(where.options(scheduling_strategy=NodeAffinitySchedulingStrategy(node_id, soft=False))
                       .remote(), timeout=60)
           for ip, node_id in nodes.items()}
    print(json.dumps({"driver": ray.util.get_node_ip_address(), "nodes": nodes, "ran": ran}))
""")


def test_both_nodes_alive_and_a_task_pinned_to_each_runs_there(ray_cluster: LocalRayCluster) -> None:
    ids = ray_cluster.node_ids()
    assert set(ids) == {ray_cluster.head_ip, ray_cluster.node_ip}
    report = json.loads(ray_cluster.run_driver(PINNED_TASKS).strip().splitlines()[-1])
    assert report["nodes"] == ids
    assert report["ran"] == {ip: [ip, node_id] for ip, node_id in ids.items()}
    # A driver started with the cluster's environment registers on the head's side of the pair.
    assert report["driver"] == ray_cluster.head_ip


def _tcp_sockets(netns: str | None, state: str) -> list[tuple[str, str, set[int]]]:
    cmd = ["ss", "-tnpH", "state", state]
    if netns is not None:
        cmd = ["ip", "netns", "exec", netns, *cmd]
    rows = []
    for line in subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.splitlines():
        fields = line.split()
        local, peer = fields[2], fields[3]
        pids = {int(p) for p in re.findall(r"pid=(\d+)", line)}
        rows.append((local, peer, pids))
    return rows


def _host(address: str) -> str:
    host = address.rsplit(":", 1)[0].strip("[]")
    return host.removeprefix("::ffff:")


def test_the_nodes_talk_only_over_the_pair(ray_cluster: LocalRayCluster) -> None:
    ray_cluster.run_driver(PINNED_TASKS)
    ours = ray_cluster.processes()
    subnet = ray_cluster.head_ip.rsplit(".", 1)[0] + "."
    connections = [(local, peer) for ns in (None, ray_cluster.netns)
                   for local, peer, pids in _tcp_sockets(ns, "established") if pids & ours]
    assert connections, "the cluster's processes hold no TCP connection at all"
    strangers = [(local, peer) for local, peer in connections
                 if not all(_host(a).startswith(subnet) or _host(a) == "127.0.0.1" for a in (local, peer))]
    assert strangers == []
    # The second node reaches the head across the pair, not through some other route.
    assert any(_host(local) == ray_cluster.node_ip and _host(peer) == ray_cluster.head_ip
               for local, peer in connections)


WATCH_FOR_DEATH = textwrap.dedent("""
    import json, sys, time, ray
    ray.init(logging_level="ERROR", log_to_driver=False)
    node_ip = sys.argv[1]
    print("ready", flush=True)
    sys.stdin.readline()
    started = time.monotonic()
    while True:
        alive = {n["NodeManagerAddress"]: n["Alive"] for n in ray.nodes()}
        if not alive[node_ip]:
            break
        if time.monotonic() - started > 60:
            print(json.dumps({"still_alive_after_60s": alive}))
            sys.exit(1)
        time.sleep(0.05)
    dead_after = time.monotonic() - started

    @ray.remote(num_cpus=1)
    def where():
        return ray.util.get_node_ip_address()

    print(json.dumps({"dead_after": dead_after, "head_runs": ray.get(where.remote(), timeout=60)}))
""")


def test_lost_node_is_noticed_and_nothing_outlives_an_interrupted_cluster(cluster_host: None) -> None:
    with pytest.raises(KeyboardInterrupt):
        with LocalRayCluster() as cluster:
            started = cluster.processes()
            in_netns = cluster.node_processes()
            assert in_netns and in_netns < started
            watcher = subprocess.Popen([cluster.python, "-c", WATCH_FOR_DEATH, cluster.node_ip], env=cluster.env(),
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                       text=True)
            try:
                assert watcher.stdout is not None and watcher.stdin is not None
                assert watcher.stdout.readline().strip() == "ready"
                watcher.stdin.write("go\n")
                watcher.stdin.flush()
                cluster.kill_second_node()
                out, err = watcher.communicate(timeout=90)
            finally:
                watcher.kill()
            assert watcher.returncode == 0, out + err
            report = json.loads(out.strip().splitlines()[-1])
            print(f"second node seen dead {report['dead_after']:.2f} s after SIGKILL")
            assert report["dead_after"] < DEATH_NOTICED_WITHIN_S
            assert report["head_runs"] == cluster.head_ip
            assert alive_pids(in_netns) == set()
            assert alive_pids(started - in_netns), "killing the second node must leave the head running"
            temp_root = cluster.temp_root
            raise KeyboardInterrupt
    assert alive_pids(started) == set()
    assert cluster.processes() == set()
    assert cluster.netns not in netns_names()
    assert not link_exists(cluster.veth_host) and not link_exists(cluster.veth_node)
    assert temp_root is not None and not temp_root.exists()


def test_a_cluster_that_does_not_come_up_says_so_and_leaves_nothing(cluster_host: None) -> None:
    cluster = LocalRayCluster(start_timeout=0.5)
    began = time.monotonic()
    with pytest.raises(ClusterError, match=r"within 0.5 s") as failure:
        with cluster:
            pass
    assert time.monotonic() - began < 20
    assert "---" in str(failure.value) or "Ray logs" in str(failure.value)
    assert cluster.processes() == set()
    assert cluster.netns not in netns_names()
    assert not link_exists(cluster.veth_host)


LEAVE_A_STALE_CLUSTER = textwrap.dedent("""
    import os, signal, subprocess, sys, tempfile
    from pathlib import Path
    from tests.cluster.local_cluster import TEMP_PREFIX, LocalRayCluster
    cluster = LocalRayCluster()
    cluster._create_network()
    root = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX))
    (root / "owner").write_text(str(os.getpid()))
    sleep = "import time; time.sleep(300)"
    inside = subprocess.Popen(["ip", "netns", "exec", cluster.netns, sys.executable, "-c", sleep],
                              start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    outside = subprocess.Popen([sys.executable, "-c", sleep, str(root / "h")], start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    print(cluster.netns, cluster.veth_host, root, inside.pid, outside.pid, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
""")


def test_a_cluster_left_by_a_killed_test_process_is_removed_by_the_next_one(cluster_host: None) -> None:
    from tests.cluster.local_cluster import reap_stale_clusters
    from tests.conftest import ROOT

    dead = subprocess.run([sys.executable, "-c", LEAVE_A_STALE_CLUSTER], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert dead.returncode == -9, dead.stderr
    netns, veth, root, *pids = dead.stdout.split()
    left = {int(p) for p in pids}
    assert netns in netns_names() and link_exists(veth) and alive_pids(left) == left
    reap_stale_clusters()
    deadline = time.monotonic() + 10
    while alive_pids(left) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert alive_pids(left) == set()
    assert netns not in netns_names() and not link_exists(veth)
    assert not Path(root).exists()
