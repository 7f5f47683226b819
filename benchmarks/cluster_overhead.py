"""Benchmark: what running a trial on a Ray cluster adds, against running it here, in the same run.

Three tuning sessions of N trials of a script that exits at once, one after the other in this
process: here, on the cluster, here again (so a drift in the machine's load shows up on both
sides). Each runs one trial at a time. Per session: the median gap between consecutive trial
starts (a whole trial cycle: ask, commit, launch, run, record) and the median time of the trial's
launch-to-exit part. The overhead through Ray is the cluster's median less the mean of the two
local medians. Connecting to the cluster happens once per session and is reported apart.

    python -m benchmarks.cluster_overhead --address HOST:PORT [--trials 20] [--json out.json]
    python -m benchmarks.cluster_overhead --local-cluster [--trials 20]   # as root: a two-node
        cluster over a veth pair, the second node in a network namespace (tests/cluster/local_cluster.py)
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from benchmarks.common import TRIVIAL_SCRIPT, Report, finish, make_project, median, parser, python
from benchmarks.common import use_benchmark_identity


async def _session(project: Path, trials: int, cluster: str | None) -> dict[str, Any]:
    from aft_tui.engine.engine import Engine
    from aft_tui.engine.trial import TrialRun
    from aft_tui.settings import Settings

    settings = Settings()
    values: dict[str, Any] = {"metric": "val_loss", "direction": "min", "trials": trials, "yes": True,
                              "parallel": 1, "pruner": "none"}
    if cluster:
        values["cluster"] = cluster
    else:
        values["python"] = python()
    settings.update(values, "the benchmark")
    starts: list[float] = []
    runs: list[float] = []
    original = TrialRun.run

    async def timed(self: Any) -> Any:
        began = time.perf_counter()
        try:
            return await original(self)
        finally:
            runs.append(time.perf_counter() - began)

    from aft_tui.runs.cluster.executor import RayTrialProcess

    phases: dict[str, list[float]] = {}
    ray_run = RayTrialProcess.run

    async def phased(self: Any) -> Any:
        try:
            return await ray_run(self)
        finally:
            for name, seconds in self.phases.items():
                phases.setdefault(name, []).append(seconds)

    TrialRun.run = timed  # type: ignore[method-assign]
    RayTrialProcess.run = phased  # type: ignore[method-assign]
    try:
        engine = Engine.open(project / "train.py", settings, project=project, cwd=project)
        engine.subscribe(lambda event: starts.append(time.perf_counter()) if event.kind == "trial_started" else None)
        await engine.start()
        connect_began = time.perf_counter()
        engine.connect_cluster()  # here, on the main thread, as `aft` does before a session starts
        connected = time.perf_counter() - connect_began
        summary = await engine.tune(trials)
        engine.close("finished")
    finally:
        TrialRun.run = original  # type: ignore[method-assign]
        RayTrialProcess.run = ray_run  # type: ignore[method-assign]
    records = summary.get("trials")
    if records != trials:
        raise RuntimeError(f"the session ran {records} trials instead of {trials}: {summary}")
    cycles = [b - a for a, b in zip(starts, starts[1:])]
    return {"cycle_median": median(cycles), "run_median": median(runs), "connect": connected, "trials": trials,
            "phases": {name: median(values) for name, values in phases.items()}}


def measure(address: str, trials: int = 20, workdir: Path | None = None) -> dict[str, Any]:
    use_benchmark_identity()
    out: dict[str, Any] = {"address": address, "trials": trials}
    for label, cluster in (("local_before", None), ("cluster", address), ("local_after", None)):
        with tempfile.TemporaryDirectory(prefix="aft-bench-cluster-", dir=workdir) as tmp:
            project = make_project(Path(tmp), {"train.py": TRIVIAL_SCRIPT})
            out[label] = asyncio.run(_session(project, trials, cluster))
    local_cycle = (out["local_before"]["cycle_median"] + out["local_after"]["cycle_median"]) / 2
    local_run = (out["local_before"]["run_median"] + out["local_after"]["run_median"]) / 2
    out["added_cycle"] = out["cluster"]["cycle_median"] - local_cycle
    out["added_run"] = out["cluster"]["run_median"] - local_run
    return out


def report(result: dict[str, Any], command: str) -> Report:
    r = Report("Cluster: per-trial overhead through Ray", command)
    n = result["trials"]
    for label in ("local_before", "cluster", "local_after"):
        r.add(f"{label.replace('_', ' ')}: trial cycle, median of {n - 1}", result[label]["cycle_median"] * 1000, "ms")
        r.add(f"{label.replace('_', ' ')}: launch to exit, median of {n}", result[label]["run_median"] * 1000, "ms")
    r.add("Ray adds per trial (cycle)", result["added_cycle"] * 1000, "ms")
    r.add("Ray adds per trial (launch to exit)", result["added_run"] * 1000, "ms")
    r.add("one-off: connecting to the cluster", result["cluster"]["connect"] * 1000, "ms")
    for name, seconds in result["cluster"]["phases"].items():
        r.add(f"  cluster trial, median: {name}", seconds * 1000, "ms")
    r.data = result
    return r


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--trials", type=int, default=20)
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--address", help="a running cluster: HOST:PORT or ray://HOST:PORT")
    where.add_argument("--local-cluster", action="store_true",
                       help="build a two-node cluster on this machine for the run (root, ip netns)")
    args = p.parse_args(argv)
    with ExitStack() as stack:
        address = args.address
        if args.local_cluster:
            from tests.cluster.local_cluster import LocalRayCluster

            cluster = stack.enter_context(LocalRayCluster())
            os.environ.update(cluster.env())
            address = cluster.address
        result = measure(address, args.trials)
    where_flag = "--local-cluster" if args.local_cluster else f"--address {args.address}"
    return finish(report(result, f"python -m benchmarks.cluster_overhead {where_flag} --trials {args.trials}"),
                  args.json)


if __name__ == "__main__":
    raise SystemExit(main())
