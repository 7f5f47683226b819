"""The driver side of a cluster trial: the same part as `runs/launcher.TrialProcess`, with the
script running in a Ray actor on some node instead of a child process here.

Everything after the launch is the local path: the actor's output is fed to the same
`TrialOutput` (redaction, the run's log, the views, printed metrics) and its AFT_METRICS lines are
appended to the run's local metrics file, which the same `MetricsFileTail` reads. So pruning, the
panes and the records cannot tell the difference, except for the node the trial ran on.

A node that dies under a trial ends the launch as `lost`; the trial (engine/trial.py) runs it
again once. A cancel goes to the trial's process group on the worker: SIGINT, SIGTERM, SIGKILL.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aft_tui.fsutil import atomic_write_json
from aft_tui.redaction import redact, remember_environment
from aft_tui.runs.cluster import bundle, transfer
from aft_tui.runs.cluster.connect import NAMESPACE, TrialResources, import_ray, wait_node_dead
from aft_tui.runs.cluster.worker import CODE, PYTHON, RUN
from aft_tui.runs.launch_request import LaunchRequest, LaunchResult
from aft_tui.runs.metrics import MetricRecord
from aft_tui.runs.metrics_tail import MetricsFileTail
from aft_tui.runs.trial_output import TrialOutput

POLL_S = 0.2
FIRST_POLL_S = 0.01
PLACEMENT_TRIES = 3  # an actor lost before its script started is placed again, this many times in all
PLACEMENT_PAUSE_S = 1.0
NODE_DEATH_WAIT_S = 60.0  # Ray's default health checks take about 15 s to call a node dead
COPY_LIMIT_BYTES = 8 * 1024 ** 3  # a run's files beyond this stay on their node, listed in the record
# Variables of this shell that travel with a trial. The rest stay here (they may hold secrets):
# the node's own environment is the script's, plus the trial protocol's and AFT's per-trial ones.
FORWARDED = ("OMP_NUM_THREADS", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE", "PYTHONHASHSEED",
             "CUBLAS_WORKSPACE_CONFIG", "TOKENIZERS_PARALLELISM", "WANDB_MODE")


@dataclass
class ClusterLaunch:
    """What a launch on the cluster needs besides the local request."""

    address: str
    resources: TrialResources
    code: bundle.CodeSource
    actor_name: str  # unique per trial: a resume finds a leftover by it
    artifacts: str = "copy"  # copy | leave
    default_python: bool = True  # the command's interpreter is AFT's own: the node uses its Python instead
    copy_limit: int = COPY_LIMIT_BYTES


_remote_class: list[Any] = []  # the actor class, made once: Ray exports its definition to the cluster once


def _worker_class(ray: Any) -> Any:
    if not _remote_class:
        from aft_tui.runs.cluster import worker

        ray.cloudpickle.register_pickle_by_value(worker)  # the nodes need Ray, not AFT
        _remote_class.append(ray.remote(worker.TrialWorker))
    return _remote_class[0]


def _lost_errors(ray: Any) -> tuple[type[BaseException], ...]:
    ex = ray.exceptions
    return tuple(getattr(ex, name) for name in ("RayActorError", "NodeDiedError", "WorkerCrashedError")
                 if hasattr(ex, name))


class RayTrialProcess:
    """One trial on the cluster; `run()` once, `cancel()` from anywhere while it runs."""

    def __init__(
        self,
        request: LaunchRequest,
        on_lines: Callable[[list[str]], None] | None = None,
        on_metrics: Callable[[list[MetricRecord]], None] | None = None,
        on_warning: Callable[[str], None] | None = None,
    ) -> None:
        assert request.cluster is not None
        self.request = request
        self.cluster: ClusterLaunch = request.cluster
        self.output = TrialOutput(request.param_names, request.metric, on_lines, on_metrics)
        self.on_warning = on_warning
        remember_environment(os.environ)
        remember_environment(request.env)
        self.pid: int | None = None  # the script runs on another machine: nothing here to measure
        self.placement: dict[str, Any] = {}
        self._actor: Any = None
        self.actor_name = ""
        self.phases: dict[str, float] = {}
        self._cancel_status: str | None = None
        self._escalation: asyncio.Future[None] | None = None
        self._exited = asyncio.Event()
        self._running = False
        self._finished = False

    # ------------------------------------------------------------------ public

    async def run(self) -> LaunchResult:
        if self._running or self._finished:
            raise RuntimeError("a RayTrialProcess runs once; create a new one for another trial")
        self._running = True
        started = time.monotonic()
        request = self.request
        Path(request.run_dir).mkdir(parents=True, exist_ok=True)
        Path(request.log_path).parent.mkdir(parents=True, exist_ok=True)
        self.output.log = log = open(request.log_path, "a", encoding="utf-8", newline="\n")
        ray = import_ray()
        try:
            for attempt in range(1, PLACEMENT_TRIES + 1):
                try:
                    result = await self._run(ray, started)
                except _lost_errors(ray) as exc:
                    if self._cancel_status is not None and "pid" not in self.placement:
                        # Stopped while it waited for a node: the actor was ended on purpose.
                        result = LaunchResult(None, self._cancel_status, 0.0, list(self.output.tail))
                        break
                    if "pid" not in self.placement and attempt < PLACEMENT_TRIES:
                        # Lost before the script started (placed on a node that was dying, not yet
                        # known dead): nothing ran, so this is not the trial's one re-run.
                        self._kill_actor(ray)
                        self._actor, self.placement = None, {}
                        await asyncio.sleep(PLACEMENT_PAUSE_S)
                        continue
                    result = await self._lost(ray, started, exc)
                break
            result.placement = dict(self.placement)
            return result
        finally:
            self._finished = True
            self._exited.set()
            self._kill_actor(ray)
            log.close()

    async def cancel(self, status: str = "cancelled") -> None:
        """Stop the trial (INT, TERM, KILL to its process group on the node); returns once it is gone."""
        if self._finished or self._exited.is_set():
            return
        if self._cancel_status is None:
            self._cancel_status = status
        if self._actor is None or "pid" not in self.placement:
            # Not started yet (or waiting for a node with room): run() sees the request, and an
            # actor still waiting for placement is ended, so the wait does not go on.
            if self._actor is not None:
                self._kill_actor(import_ray())
            return
        if self._escalation is None:
            self._escalation = asyncio.ensure_future(self._escalate())
        await asyncio.shield(self._escalation)

    # ------------------------------------------------------------------ run

    async def _call(self, ref: Any) -> Any:
        ray = import_ray()
        return await asyncio.to_thread(ray.get, ref)

    async def _run(self, ray: Any, started: float) -> LaunchResult:
        request, cluster = self.request, self.cluster
        if self._cancel_status is not None:
            return LaunchResult(None, self._cancel_status, 0.0, [])
        code = cluster.code
        mark = time.monotonic()
        code_tar = await asyncio.to_thread(bundle.archive, code.worktree, code.commit)
        links = await asyncio.to_thread(bundle.links_once, code.worktree)
        shipped = [await asyncio.to_thread(transfer.ship_ref, ray, local) for _rel, local in code.ship]
        command, env = self._translated()
        res = cluster.resources
        self.actor_name = f"{cluster.actor_name}-{os.urandom(3).hex()}"  # a re-run's name is free at once
        options: dict[str, Any] = {"name": self.actor_name, "namespace": NAMESPACE, "num_cpus": res.cpus,
                                   "num_gpus": res.gpus, "max_restarts": 0, "max_task_retries": 0,
                                   "scheduling_strategy": "SPREAD"}
        if res.memory:
            options["memory"] = res.memory
        self._actor = _worker_class(ray).options(**options).remote()
        self._record_process()
        mark = self._phase("pack the commit", mark)
        info = await self._call(self._actor.start.remote(code_tar, links, [rel for rel, _ in code.ship], command,
                                                         code.rel_cwd, env, *shipped))
        self.placement = {k: info[k] for k in ("node_id", "node_ip", "hostname") if k in info}
        if "error" in info:
            await self._drain_output()
            return LaunchResult(None, "start_failed", time.monotonic() - started, list(self.output.tail),
                                error=f"Could not start the trial on node {info.get('node_ip')}: {info['error']}; "
                                      "check that the interpreter exists on every node (--python, --venv, --conda).")
        self.placement["pid"] = info.get("pid")
        self._record_process()
        self._say(f"[aft] running on node {info.get('node_ip')} ({info.get('hostname')}), "
                  f"Ray node {str(info.get('node_id'))[:12]}")
        launched = time.monotonic()
        if self._cancel_status is not None:
            self._escalation = asyncio.ensure_future(self._escalate())
        mark = self._phase("place the actor and start the script", mark)
        returncode = await self._follow(launched)
        mark = self._phase("run and stream", mark)
        if self._escalation is not None:
            await asyncio.shield(self._escalation)
        await self._collect()
        self._phase("bring the files back", mark)
        self.output.flush()
        return LaunchResult(returncode=returncode, status=self._cancel_status or "exited",
                            duration=time.monotonic() - launched, tail=list(self.output.tail))

    def _translated(self) -> tuple[list[str], dict[str, str]]:
        """The command and AFT's variables with this machine's paths replaced by the node's."""
        request, cluster = self.request, self.cluster
        swaps = sorted(((str(Path(request.run_dir).absolute()), RUN), (str(cluster.code.worktree), CODE)),
                       key=lambda pair: -len(pair[0]))

        def swap(text: str) -> str:
            for local, remote in swaps:
                text = text.replace(local, remote)
            return text

        command = [swap(str(part)) for part in request.command]
        if cluster.default_python and command and command[0] == sys.executable:
            command[0] = PYTHON
        env = {name: os.environ[name] for name in FORWARDED if name in os.environ}
        env.update({str(k): swap(str(v)) for k, v in request.env.items()})
        if request.unbuffered:
            env["PYTHONUNBUFFERED"] = "1"
        if request.omp_threads is not None and "OMP_NUM_THREADS" not in env:
            env["OMP_NUM_THREADS"] = str(max(1, int(cluster.resources.cpus)))
        return command, env

    async def _follow(self, launched: float) -> int | None:
        """Poll the node until the script exited and all it wrote is here; the trial's time limit runs from its start."""
        request = self.request
        tail = MetricsFileTail(Path(request.metrics_path).absolute(), self._deliver_file, self._warn)
        metrics = open(request.metrics_path, "ab")
        idle = 0
        try:
            while True:
                polled = await self._call(self._actor.poll.remote())
                if polled["out"]:
                    self.output.feed(polled["out"])
                if polled["metrics"]:
                    metrics.write(polled["metrics"])
                    metrics.flush()
                    tail.poll()
                if polled["returncode"] is not None:
                    self._exited.set()
                    tail.poll(final=True)
                    return int(polled["returncode"])
                if (request.timeout is not None and time.monotonic() - launched > request.timeout
                        and self._escalation is None):
                    self._cancel_status = self._cancel_status or "timeout"
                    self._escalation = asyncio.ensure_future(self._escalate())
                if polled["out"] or polled["metrics"]:
                    idle = 0
                else:  # quick at first and after output (a short script ends soon), then every POLL_S
                    await asyncio.sleep(min(POLL_S, FIRST_POLL_S * 2 ** idle))
                    idle += 1
        finally:
            metrics.close()

    async def _drain_output(self) -> None:
        polled = await self._call(self._actor.poll.remote())
        if polled["out"]:
            self.output.feed(polled["out"])
        self.output.flush()

    async def _escalate(self) -> None:
        steps = [(signal.SIGINT, self.request.grace_int), (signal.SIGTERM, self.request.grace_term),
                 (signal.SIGKILL, 5.0)]
        for sig, grace in steps:
            if self._exited.is_set():
                return
            try:
                await self._call(self._actor.signal.remote(int(sig)))
            except _lost_errors(import_ray()):
                return  # the node went away: the run loop reports it
            try:
                await asyncio.wait_for(self._exited.wait(), max(grace, 0.0))
                return
            except asyncio.TimeoutError:
                continue

    async def _collect(self) -> None:
        """The run's files back into its run folder and the worktree, as a local run leaves them."""
        cluster = self.cluster
        keep = cluster.artifacts == "leave"
        got = await self._call(self._actor.finish.remote(cluster.copy_limit, keep))
        await asyncio.to_thread(transfer.unpack, got["tar"], Path(self.request.run_dir), cluster.code.worktree)
        if got.get("peak_rss_bytes"):
            self.placement["peak_rss_bytes"] = got["peak_rss_bytes"]
        if got["left"]:
            self.placement["left_on_node"] = {"node_ip": self.placement.get("node_ip"), "folder": got["workdir"],
                                              "files": got["left"]}
            total = sum(got["left"].values())
            why = "as --cluster-artifacts leave asks" if keep else f"they are over the {cluster.copy_limit >> 30} GiB copied back"
            self._warn(f"{len(got['left'])} file(s) of this trial ({total} bytes) stay on node "
                       f"{self.placement.get('node_ip')} in {got['workdir']}, {why}.")

    # ------------------------------------------------------------------ faults

    async def _lost(self, ray: Any, started: float, exc: BaseException) -> LaunchResult:
        """The node died under the trial. Returns once Ray knows it is dead (bounded), so that
        the trial's re-run is not placed on it again."""
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        self.output.flush()
        node_id = self.placement.get("node_id")
        if node_id:
            await asyncio.to_thread(wait_node_dead, ray, node_id, NODE_DEATH_WAIT_S)
        where = f"node {self.placement['node_ip']}" if self.placement.get("node_ip") else "node"
        return LaunchResult(None, "lost", time.monotonic() - started, list(self.output.tail),
                            error=f"The trial's {where} was lost while it ran ({first}).")

    def _kill_actor(self, ray: Any) -> None:
        if self._actor is None:
            return
        try:
            ray.kill(self._actor, no_restart=True)  # its guard kills whatever of the script still runs
        except Exception:
            pass

    def _record_process(self) -> None:
        """The in-flight note names the actor, not a pid: a pid means nothing on this machine."""
        path = self.request.process_file
        if path is None:
            return
        data = dict(self.request.process_note)
        data["cluster"] = {"address": self.cluster.address, "actor": self.actor_name,
                           "namespace": NAMESPACE, **self.placement}
        try:
            atomic_write_json(Path(path), data, durable=False)
        except OSError:
            pass

    def _phase(self, name: str, since: float) -> float:
        """Where a cluster trial's time goes (the overhead benchmark reads it)."""
        now = time.monotonic()
        self.phases[name] = self.phases.get(name, 0.0) + now - since
        return now

    def _say(self, line: str) -> None:
        """A line of AFT's own in the run's log and the views (not read for metrics)."""
        if self.output.log is not None:
            self.output.log.write(line + "\n")
        if self.output.on_lines is not None:
            self.output.on_lines([line])

    def _deliver_file(self, records: list[MetricRecord]) -> None:
        if self.output.on_metrics is not None:
            self.output.on_metrics(records)

    def _warn(self, message: str) -> None:
        if self.on_warning is not None:
            self.on_warning(redact(message))
