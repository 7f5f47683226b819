"""A real two-node Ray cluster on one machine, for tests that must lose a node.

The head runs on the host side of a veth pair (10.231.N.1); the second node runs inside a network namespace
(10.231.N.2), so it has its own network stack and can be killed as a whole without touching the head. Nothing
here uses the machine's own interface address: drivers, nodes and the GCS all speak over the pair.

Why not `ray stop`: it kills every Ray process on the machine by name, which would take down a cluster that a
parallel test worker is using. Every process here is instead found by the session it was started in (Ray's
workers change their process group, never their session) and by the namespace, and killed by pid.

Why the Ray temp dir is a short folder under /tmp and not the pytest tmp dir: Ray puts Unix sockets under
`<temp-dir>/session_<date>_<pid>/sockets/`, and a long pytest path pushes them past the 107-byte socket limit.

This module never imports `ray`: all driver code runs in subprocesses, so no Ray state reaches the pytest process.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import TracebackType

SUBNET_PREFIX = "10.231"
FIRST_SUBNET = 7
LAST_SUBNET = 254
HEALTH_CHECK_ENV = {
    # The GCS pings every raylet; a killed node refuses the connection at once, so the period times the
    # threshold (about 2 s) is how long a lost node stays "alive". The timeout only matters for a hung node and
    # is generous so that a node slowed down by a busy 2-core machine is not declared dead by mistake.
    "RAY_health_check_initial_delay_ms": "0",
    "RAY_health_check_period_ms": "500",
    "RAY_health_check_timeout_ms": "5000",
    "RAY_health_check_failure_threshold": "4",
}
TEMP_PREFIX = "aftray-"
_LOCK_PATH = Path(tempfile.gettempdir()) / "aft-ray-cluster-net.lock"
_counter = 0


def unavailable_reason() -> str | None:
    """Why this machine cannot host the cluster, or None when it can (the check costs no Ray import)."""
    import importlib.util

    if importlib.util.find_spec("ray") is None:
        return "the `ray` package is not installed (pip install 'aft-tui[ray]')"
    if os.geteuid() != 0:
        return "the two-node Ray cluster needs root to create a network namespace and a veth pair (CI runs as root)"
    if shutil.which("ip") is None:
        return "the two-node Ray cluster needs the `ip` command (iproute2) to create a network namespace"
    probe = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True)
    if probe.returncode != 0:
        return f"`ip netns` is unavailable here ({probe.stderr.strip() or 'exit ' + str(probe.returncode)})"
    return None


CLUSTER_MARK = "AFT_TEST_CLUSTER"


class ClusterError(RuntimeError):
    """The cluster could not be built or torn down; the message carries the Ray logs' tails."""


class LocalRayCluster:
    """Head on the host side of a veth pair, second node inside a network namespace; a context manager."""

    def __init__(self, num_cpus: int = 1, start_timeout: float = 90.0, object_store_bytes: int = 100_000_000,
                 health_check: bool = True, port: int | None = None) -> None:
        global _counter
        _counter += 1
        pid = os.getpid()
        self.netns = f"aft-{pid}-{_counter}"
        # Interface names are limited to 15 characters: "av" + pid (<= 7 digits) + "-" + counter + side.
        self.veth_host = f"av{pid}-{_counter}h"
        self.veth_node = f"av{pid}-{_counter}n"
        self.num_cpus = num_cpus
        self.start_timeout = start_timeout
        self.object_store_bytes = object_store_bytes
        self.health_check = health_check
        self.subnet: int | None = None
        self.port: int | None = port
        self.temp_root: Path | None = None
        self.python = sys.executable
        ray_bin = Path(sys.executable).with_name("ray")
        self.ray_bin = str(ray_bin) if ray_bin.exists() else (shutil.which("ray") or "ray")
        self.head_proc: subprocess.Popen | None = None
        self.node_proc: subprocess.Popen | None = None
        self._netns_created = False
        self._veth_created = False
        self.start_seconds: float | None = None
        self.stop_seconds: float | None = None

    # ----------------------------------------------------------------- addresses

    @property
    def head_ip(self) -> str:
        return f"{SUBNET_PREFIX}.{self._subnet()}.1"

    @property
    def node_ip(self) -> str:
        return f"{SUBNET_PREFIX}.{self._subnet()}.2"

    @property
    def address(self) -> str:
        if self.port is None:
            raise ClusterError("the cluster has not been started")
        return f"{self.head_ip}:{self.port}"

    def _subnet(self) -> int:
        if self.subnet is None:
            raise ClusterError("the cluster has not been started")
        return self.subnet

    def env(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """Environment for a driver subprocess: `ray.init()` / `ray.init(address="auto")` reach this cluster.

        A driver on the host attaches to the head's raylet (Ray prefers the head among the raylets it finds on
        this machine that belong to the cluster), so it registers as `head_ip`; pass
        `ray.init(_node_ip_address=cluster.head_ip)` to make that explicit. No Ray variable of the caller leaks in.
        """
        env = {k: v for k, v in (os.environ if base is None else base).items() if not k.startswith("RAY_")}
        env.update({"RAY_ADDRESS": self.address, "RAY_USAGE_STATS_ENABLED": "0",
                    "RAY_DEDUP_LOGS": "0", "PYTHONUNBUFFERED": "1"})
        return env

    # ----------------------------------------------------------------- lifecycle

    def __enter__(self) -> LocalRayCluster:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        # A teardown problem must not hide the error that ended the block.
        self.stop(raise_on_leftovers=exc_type is None)

    def trial_folders(self) -> list[Path]:
        """The trial folders the nodes hold now (each node's TMPDIR is the cluster's own)."""
        if self.temp_root is None:
            return []
        return sorted((self.temp_root / "tmp").glob("aft-trial-*"))

    def start(self) -> None:
        started = time.monotonic()
        try:
            reap_stale_clusters()
            self.temp_root = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX))
            (self.temp_root / "owner").write_text(str(os.getpid()))
            self._create_network()
            if self.port is None:
                self.port = _free_port()
            self._start_head()
            self._wait_for_gcs()
            self._start_node()
            self._wait_for_nodes()
        except BaseException:
            self.stop(raise_on_leftovers=False)
            raise
        self.start_seconds = time.monotonic() - started

    def stop(self, raise_on_leftovers: bool = True) -> None:
        """Kill both nodes by session and namespace, remove the pair and the namespace, check nothing is left."""
        started = time.monotonic()
        problems: list[str] = []
        self._kill(lambda: self._node_pids() | self._head_pids())
        for proc in (self.node_proc, self.head_proc):
            if proc is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=10)
        left = alive_pids(self._node_pids() | self._head_pids())
        if left:
            problems.append(f"Ray processes still running after SIGKILL: {_describe(left)}")
        if self._veth_created:
            _ip("link", "del", self.veth_host, check=False)
            self._veth_created = False
        if self._netns_created:
            _ip("netns", "del", self.netns, check=False)
            self._netns_created = False
        if self.netns in netns_names():
            problems.append(f"network namespace {self.netns} still exists")
        if link_exists(self.veth_host):
            problems.append(f"veth {self.veth_host} still exists")
        if self.temp_root is not None and not problems:
            shutil.rmtree(self.temp_root, ignore_errors=True)
        self.stop_seconds = time.monotonic() - started
        if problems and raise_on_leftovers:
            raise ClusterError("; ".join(problems))

    # ----------------------------------------------------------------- the network

    def _create_network(self) -> None:
        # Two pytest-xdist workers may build clusters at the same moment: the lock makes "pick a free /24" and
        # "put the address on the interface" one step, so they never pick the same subnet.
        with open(_LOCK_PATH, "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            self.subnet = _pick_subnet()
            if self.netns in netns_names():
                raise ClusterError(f"network namespace {self.netns} already exists; remove it with "
                                   f"`ip netns del {self.netns}`")
            _ip("netns", "add", self.netns)
            self._netns_created = True
            _ip("link", "add", self.veth_host, "type", "veth", "peer", "name", self.veth_node)
            self._veth_created = True
            _ip("link", "set", self.veth_node, "netns", self.netns)
            _ip("addr", "add", f"{self.head_ip}/24", "dev", self.veth_host)
            _ip("link", "set", self.veth_host, "up")
        _ip("-n", self.netns, "addr", "add", f"{self.node_ip}/24", "dev", self.veth_node)
        _ip("-n", self.netns, "link", "set", self.veth_node, "up")
        _ip("-n", self.netns, "link", "set", "lo", "up")

    # ----------------------------------------------------------------- the nodes

    def _ray_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
        env["RAY_USAGE_STATS_ENABLED"] = "0"
        # Every process the nodes start inherits it: a test finds its own cluster's trials by it.
        env[CLUSTER_MARK] = self.netns
        # Trial folders (tempfile on the node) land in the cluster's own folder, so a test can see
        # what a node left behind, and nothing outlives the cluster.
        assert self.temp_root is not None
        (self.temp_root / "tmp").mkdir(exist_ok=True)
        env["TMPDIR"] = str(self.temp_root / "tmp")
        if self.health_check:
            env.update(HEALTH_CHECK_ENV)
        return env

    def _common_args(self, ip: str, temp_dir: Path) -> list[str]:
        # Worker ports come from a range of this cluster's own, so two clusters on the host side never race for
        # the same port (Ray's default range is shared by every cluster on the machine).
        low = 10_002 + (self._subnet() % 40) * 240
        return ["--block", "--node-ip-address", ip, "--num-cpus", str(self.num_cpus), "--num-gpus", "0",
                "--disable-usage-stats", "--object-store-memory", str(self.object_store_bytes),
                "--min-worker-port", str(low), "--max-worker-port", str(low + 239), "--temp-dir", str(temp_dir)]

    def _start_head(self) -> None:
        assert self.temp_root is not None
        args = [self.ray_bin, "start", "--head", "--port", str(self.port), "--include-dashboard=false",
                *self._common_args(self.head_ip, self.temp_root / "h")]
        with open(self.temp_root / "head-start.log", "w") as log:
            self.head_proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=self._ray_env(),
                                              stdin=subprocess.DEVNULL, start_new_session=True)

    def _start_node(self) -> None:
        assert self.temp_root is not None
        args = ["ip", "netns", "exec", self.netns, self.ray_bin, "start", "--address", self.address,
                *self._common_args(self.node_ip, self.temp_root / "n")]
        with open(self.temp_root / "node-start.log", "w") as log:
            self.node_proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=self._ray_env(),
                                              stdin=subprocess.DEVNULL, start_new_session=True)

    def _check_started(self) -> None:
        for name, proc in (("head", self.head_proc), ("second node", self.node_proc)):
            if proc is not None and proc.poll() is not None:
                raise ClusterError(f"`ray start` for the {name} exited with code {proc.returncode}.\n"
                                   + self.log_tails())

    def _wait_for_gcs(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            self._check_started()
            with socket.socket() as sock:
                sock.settimeout(0.5)
                if sock.connect_ex((self.head_ip, self.port)) == 0:
                    return
            time.sleep(0.1)
        raise ClusterError(f"the head's GCS did not listen on {self.address} within {self.start_timeout:g} s.\n"
                           + self.log_tails())

    def _wait_for_nodes(self) -> None:
        code = textwrap.dedent(f"""
            import json, sys, time, ray
            ray.init(logging_level="ERROR", log_to_driver=False, _node_ip_address={self.head_ip!r})
            want = {{{self.head_ip!r}, {self.node_ip!r}}}
            nodes = []
            while True:
                nodes = [(n["NodeManagerAddress"], n["Alive"]) for n in ray.nodes()]
                if want <= {{ip for ip, alive in nodes if alive}}:
                    break
                print(json.dumps(nodes), flush=True)
                time.sleep(0.2)
            print(json.dumps(nodes), flush=True)
        """)
        deadline = time.monotonic() + self.start_timeout
        with tempfile.TemporaryFile("w+") as out:
            waiter = subprocess.Popen([self.python, "-c", code], stdout=out, stderr=subprocess.STDOUT,
                                      env=self.env(), start_new_session=True)
            try:
                while waiter.poll() is None:
                    if time.monotonic() > deadline:
                        raise ClusterError(f"the two nodes were not both alive within {self.start_timeout:g} s; "
                                           f"last view: {_last_line(out)}\n" + self.log_tails())
                    self._check_started()
                    time.sleep(0.1)
            finally:
                if waiter.poll() is None:
                    os.killpg(waiter.pid, signal.SIGKILL)
                    waiter.wait()
            if waiter.returncode != 0:
                out.seek(0)
                raise ClusterError(f"the driver that waits for the nodes failed (exit {waiter.returncode}):\n"
                                   f"{out.read()[-3000:]}\n" + self.log_tails())

    # ----------------------------------------------------------------- drivers

    def run_driver(self, code: str, timeout: float = 60) -> str:
        """Run Python `code` as a driver in a fresh subprocess; its stdout, or an error with its output."""
        proc = subprocess.run([self.python, "-c", code], capture_output=True, text=True, timeout=timeout,
                              env=self.env(), stdin=subprocess.DEVNULL)
        if proc.returncode != 0:
            raise ClusterError(f"driver exited with code {proc.returncode}\nstdout:\n{proc.stdout[-3000:]}\n"
                               f"stderr:\n{proc.stderr[-3000:]}")
        return proc.stdout

    def nodes(self) -> list[dict]:
        """Every node the GCS knows, dead ones included: [{"ip", "node_id", "alive"}]."""
        out = self.run_driver(textwrap.dedent(f"""
            import json, ray
            ray.init(logging_level="ERROR", log_to_driver=False, _node_ip_address={self.head_ip!r})
            print(json.dumps([{{"ip": n["NodeManagerAddress"], "node_id": n["NodeID"], "alive": n["Alive"]}}
                              for n in ray.nodes()]))
        """))
        return json.loads(out.strip().splitlines()[-1])

    def node_ids(self) -> dict[str, str]:
        """{ip: node_id} of the alive nodes."""
        return {n["ip"]: n["node_id"] for n in self.nodes() if n["alive"]}

    # ----------------------------------------------------------------- losing a node

    def kill_second_node(self) -> None:
        """SIGKILL every process of the second node at once, as if the machine had lost power."""
        self._kill(self._node_pids)
        if self.node_proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.node_proc.wait(timeout=10)
        left = alive_pids(self._node_pids())
        if left:
            raise ClusterError(f"the second node's processes survived SIGKILL: {_describe(left)}")

    def _node_pids(self) -> set[int]:
        pids: set[int] = set()
        if self._netns_created:
            out = subprocess.run(["ip", "netns", "pids", self.netns], capture_output=True, text=True).stdout
            pids |= {int(p) for p in out.split()}
        if self.node_proc is not None:
            pids |= _session_pids(self.node_proc.pid)
        return pids

    def _head_pids(self) -> set[int]:
        pids: set[int] = set()
        if self.head_proc is not None:
            pids |= _session_pids(self.head_proc.pid)
        if self.temp_root is not None:
            pids |= _pids_mentioning(str(self.temp_root))
        return pids

    def _kill(self, collect: Callable[[], set[int]], timeout: float = 10.0) -> None:
        # Ray may spawn a worker while we kill: repeat until the session and the namespace stay empty.
        deadline = time.monotonic() + timeout
        while True:
            alive = alive_pids(collect())
            for pid in alive:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            for proc in (self.head_proc, self.node_proc):
                if proc is not None:
                    proc.poll()
            if not alive or time.monotonic() > deadline:
                return
            time.sleep(0.05)

    def processes(self) -> set[int]:
        """Pids of every live process this cluster started (empty once it is stopped)."""
        return alive_pids(self._node_pids() | self._head_pids())

    def node_processes(self) -> set[int]:
        """Pids of the second node's live processes (those in the namespace)."""
        return alive_pids(self._node_pids())

    # ----------------------------------------------------------------- diagnostics

    def log_tails(self, lines: int = 15) -> str:
        """The last lines of the `ray start` outputs and of the GCS and raylet logs, for an error message."""
        if self.temp_root is None or not self.temp_root.exists():
            return "(no Ray logs)"
        patterns = ["*-start.log", "*/session_*/logs/gcs_server.*", "*/session_*/logs/raylet.*",
                    "*/session_*/logs/python-core-driver-*"]
        parts: list[str] = []
        for pattern in patterns:
            for path in sorted(self.temp_root.glob(pattern)):
                text = path.read_text(errors="replace").strip()
                if text:
                    tail = "\n".join(text.splitlines()[-lines:])
                    parts.append(f"--- {path.relative_to(self.temp_root)} ---\n{tail}")
        return "\n".join(parts) or "(Ray logs are empty)"


# --------------------------------------------------------------------- helpers


def _ip(*args: str, check: bool = True) -> None:
    proc = subprocess.run(["ip", *args], capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise ClusterError(f"`ip {' '.join(args)}` failed: {proc.stderr.strip()}")


def netns_names() -> set[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return {line.split()[0] for line in out.splitlines() if line.strip()}


def link_exists(name: str) -> bool:
    return subprocess.run(["ip", "link", "show", "dev", name], capture_output=True).returncode == 0


def reap_stale_clusters() -> None:
    """Remove the clusters of test processes that died without cleaning up (SIGKILL, a crashed CI job).

    Only a cluster whose owner process is gone is touched, so a parallel test's live cluster is safe.
    """
    for name in netns_names():
        match = re.fullmatch(r"aft-(\d+)-(\d+)", name)
        if match is None or _stat(int(match[1])) is not None:
            continue
        pids = {int(p) for p in subprocess.run(["ip", "netns", "pids", name], capture_output=True,
                                               text=True).stdout.split()}
        _kill_all(pids)
        _ip("link", "del", f"av{match[1]}-{match[2]}h", check=False)
        _ip("netns", "del", name, check=False)
    for root in Path(tempfile.gettempdir()).glob(TEMP_PREFIX + "*"):
        try:
            owner = int((root / "owner").read_text())
        except (OSError, ValueError):
            continue
        if _stat(owner) is None:
            # Ray's workers rename themselves ("ray::IDLE"), so they are found by the session of a process
            # whose command line names the folder.
            named = _pids_mentioning(str(root))
            sessions = {stat[1] for stat in map(_stat, named) if stat is not None and stat[1] > 1}
            _kill_all(named | {pid for sid in sessions for pid in _session_pids(sid)})
            shutil.rmtree(root, ignore_errors=True)


def _kill_all(pids: set[int]) -> None:
    for pid in alive_pids(pids):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _subnets_in_use() -> set[int]:
    out = subprocess.run(["ip", "-o", "-4", "addr", "show"], capture_output=True, text=True).stdout
    out += subprocess.run(["ip", "-4", "route", "show"], capture_output=True, text=True).stdout
    used = set()
    for word in out.split():
        if word.startswith(SUBNET_PREFIX + "."):
            with contextlib.suppress(ValueError, IndexError):
                used.add(int(word.split(".")[2]))
    return used


def _pick_subnet() -> int:
    """10.231.7.0/24 for a plain run, 10.231.(7+K) for pytest-xdist worker gwK, skipping any subnet in use."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    offset = int(worker[2:]) if worker.startswith("gw") and worker[2:].isdigit() else 0
    used = _subnets_in_use()
    span = LAST_SUBNET - FIRST_SUBNET + 1
    for step in range(span):
        candidate = FIRST_SUBNET + (offset + step) % span
        if candidate not in used:
            return candidate
    raise ClusterError(f"every subnet {SUBNET_PREFIX}.{FIRST_SUBNET}-{LAST_SUBNET}.0/24 is in use")


def _free_port() -> int:
    # The GCS listens on every address, so the port must be free on all of them.
    with socket.socket() as sock:
        sock.bind(("0.0.0.0", 0))
        return sock.getsockname()[1]


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, session id) of a process, or None when it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = raw[raw.rindex(")") + 2:].split()
    return fields[0], int(fields[3])


def _session_pids(sid: int) -> set[int]:
    pids = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = _stat(int(entry))
            if stat is not None and stat[1] == sid:
                pids.add(int(entry))
    return pids


def _pids_mentioning(text: str) -> set[int]:
    pids = set()
    needle = text.encode()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                if needle in Path(f"/proc/{entry}/cmdline").read_bytes():
                    pids.add(int(entry))
    return pids


def alive_pids(pids: Iterable[int]) -> set[int]:
    """The pids still running (a zombie holds no port or memory and waits only for its parent to reap it)."""
    alive = set()
    for pid in pids:
        stat = _stat(pid)
        if stat is not None and stat[0] != "Z":
            alive.add(pid)
    return alive


def _describe(pids: Iterable[int]) -> str:
    names = []
    for pid in sorted(pids):
        with contextlib.suppress(OSError):
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")[:80]
            names.append(f"{pid} {cmdline.decode(errors='replace')}")
    return ", ".join(names)


def _last_line(out) -> str:
    out.seek(0)
    lines = out.read().strip().splitlines()
    return lines[-1] if lines else "(nothing yet)"
