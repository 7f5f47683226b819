"""Reaching the Ray cluster: the address, the connection, what the nodes hold.

Ray is imported here and nowhere else on the driver, and only once `--cluster` is given: a person
without the extra, or without a cluster, never pays for it. Every way of not getting a cluster
(Ray not installed, nothing at the address, a version mismatch, no node big enough for one trial)
ends in one sentence naming the fix.
"""

from __future__ import annotations

import math
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from aft_tui.errors import UserError
from aft_tui.formatting import fmt_bytes

NAMESPACE = "aft"
_lock = threading.Lock()
_connected: str | None = None

INSTALL = "install it with pip install 'aft-tui[ray]' (the same Ray version as the cluster), or drop --cluster"


def import_ray() -> Any:
    """The ray module, or one sentence on how to get it."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # never phone home from a tuning session
    try:
        import ray
    except ImportError:
        raise UserError(f"--cluster needs Ray, which is not installed for this Python; {INSTALL}.") from None
    return ray


def resolve_address(value: str) -> str:
    """What ray.init connects to: `ray` means RAY_ADDRESS when set, else the cluster this machine
    already belongs to ("auto"); `ray://HOST:PORT` (Ray Client) and `HOST:PORT` as given."""
    text = value.strip()
    if text in ("ray", "auto"):
        return os.environ.get("RAY_ADDRESS", "").strip() or "auto"
    return text


def connect(value: str) -> str:
    """Connect this process to the cluster once (a later call is free); returns the address."""
    global _connected
    ray = import_ray()
    address = resolve_address(value)
    with _lock:
        if _connected is not None and ray.is_initialized():
            return _connected
        _probe(address)
        try:
            # An address is always given: ray.init() without one would start a private cluster here.
            ray.init(address=address, namespace=NAMESPACE, log_to_driver=False, logging_level="ERROR",
                     configure_logging=False)
        except Exception as exc:  # ConnectionError, a version mismatch, a timeout: all end the same way
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            where = "no address was given and RAY_ADDRESS is not set" if address == "auto" else f"at {address}"
            raise UserError(f"Could not reach a Ray cluster ({where}: {first[:200]}); start one with ray start --head, "
                            "pass its address (--cluster HOST:PORT, ray://HOST:PORT, or RAY_ADDRESS), "
                            "or drop --cluster.") from None
        _connected = address
        _quiet_console(ray)
    return address


def _quiet_console(ray: Any) -> None:
    """Ray's driver prints the cluster's error messages ("node ... marked dead") straight to
    stdout, across AFT's screen; AFT reports what they mean in its own words (a lost node, a
    failed start), so they go to a logger instead."""
    import logging

    worker = getattr(getattr(ray, "_private", None), "worker", None)
    if worker is None or not hasattr(worker, "print_to_stdstream"):
        return
    log = logging.getLogger("aft.cluster")

    def to_log(data: dict[str, Any], ignore_prefix: bool = False) -> None:
        for line in data.get("lines") or []:
            log.info("ray: %s", line)

    worker.print_to_stdstream = to_log


def _probe(address: str, timeout: float = 5.0) -> None:
    """A quick TCP connect to HOST:PORT first: Ray itself retries for tens of seconds before it
    says nothing is there."""
    import socket

    if address == "auto":
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            return
    except (OSError, ValueError) as exc:
        why = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    raise UserError(f"Could not reach a Ray cluster at {address} ({why}); start one with ray start --head, "
                    "pass its address (--cluster HOST:PORT, ray://HOST:PORT, or RAY_ADDRESS), or drop --cluster.")


@dataclass
class Node:
    node_id: str
    ip: str
    hostname: str
    resources: dict[str, float] = field(default_factory=dict)

    @property
    def cpus(self) -> float:
        return float(self.resources.get("CPU", 0))

    @property
    def gpus(self) -> float:
        return float(self.resources.get("GPU", 0))

    @property
    def memory(self) -> float:
        return float(self.resources.get("memory", 0))

    def describe(self) -> str:
        return f"{self.ip} ({self.cpus:g} CPU, {self.gpus:g} GPU, {fmt_bytes(self.memory)} memory)"


def nodes() -> list[Node]:
    """The cluster's live nodes with what each holds (after connect)."""
    ray = import_ray()
    found = []
    for item in ray.nodes():
        if not item.get("Alive"):
            continue
        found.append(Node(node_id=str(item.get("NodeID", "")), ip=str(item.get("NodeManagerAddress", "")),
                          hostname=str(item.get("NodeManagerHostname", "")),
                          resources={k: float(v) for k, v in (item.get("Resources") or {}).items()}))
    return found


@dataclass(frozen=True)
class TrialResources:
    """What one cluster trial holds while it runs."""

    cpus: float = 1.0
    gpus: float = 0.0
    memory: int | None = None  # bytes

    def fits(self, node: Node) -> int:
        """How many such trials the node holds at once."""
        counts = [math.floor(node.cpus / self.cpus + 1e-9) if self.cpus else math.inf]
        if self.gpus:
            counts.append(math.floor(node.gpus / self.gpus + 1e-9))
        if self.memory:
            counts.append(math.floor(node.memory / self.memory + 1e-9))
        best = min(counts)
        return 0 if best == math.inf else int(best)

    def describe(self) -> str:
        parts = [f"{self.cpus:g} CPU", f"{self.gpus:g} GPU"]
        if self.memory:
            parts.append(f"{fmt_bytes(self.memory)} memory")
        return ", ".join(parts)


def resources_for(cpus: float | None, gpus: int | None, memory: int | None, live: list[Node]) -> TrialResources:
    """A trial's resources: GPUs default to 1 when the cluster has any, else 0."""
    if gpus is None:
        gpus = 1 if any(node.gpus for node in live) else 0
    return TrialResources(cpus=float(cpus if cpus is not None else 1.0), gpus=float(gpus), memory=memory)


def capacity(resources: TrialResources, live: list[Node]) -> int:
    """How many trials the cluster runs at once; a sentence when no node can hold even one."""
    total = sum(resources.fits(node) for node in live)
    if total < 1:
        held = "; ".join(node.describe() for node in live) or "no live node"
        raise UserError(f"No node of the Ray cluster can hold a trial of {resources.describe()} (the nodes: {held}); "
                        "lower --cpus-per-trial, --gpus-per-trial or --memory-per-trial, or add a node.")
    return total


def wait_node_dead(ray: Any, node_id: str, timeout: float) -> None:
    """Wait (bounded) until Ray reports the node dead, so that nothing is placed on it again."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            alive = any(n.get("NodeID") == node_id and n.get("Alive") for n in ray.nodes())
        except Exception:
            return
        if not alive:
            return
        time.sleep(0.5)
