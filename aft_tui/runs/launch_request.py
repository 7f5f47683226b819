"""What a trial is launched with, what comes back, and the environment the script sees.

The request is everything the launcher needs to run one trial and nothing it has to look up;
the environment adds the trial protocol's variables (`AFT_RUN_DIR`, `AFT_METRICS`, the GPUs,
unbuffered output, one OpenMP thread) to the person's own.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class LaunchRequest:
    command: list[str]
    cwd: Path
    run_dir: Path
    log_path: Path
    metrics_path: Path
    env: dict[str, str] = field(default_factory=dict)
    gpus: list[int] | None = None
    timeout: float | None = None
    omp_threads: int | None = 1
    unbuffered: bool = True  # PYTHONUNBUFFERED=1 (also reaches Pythons a launcher such as torchrun starts)
    grace_int: float = 5.0
    grace_term: float = 5.0
    # What the printed lines are read with (parse_line): names never reported as metrics (the
    # trial's parameters, see parameter_names) and the objective, always kept.
    param_names: frozenset[str] = frozenset()
    metric: str | None = None
    # Where the running process is recorded (its pid, group and start time, beside `process_note`),
    # so that a later AFT can stop it if this one was killed; the caller removes the file.
    process_file: Path | None = None
    process_note: dict[str, object] = field(default_factory=dict)
    # Set when the trial runs on a Ray cluster (runs/cluster/executor.ClusterLaunch): the same request,
    # launched on a node by RayTrialProcess instead of here by TrialProcess.
    cluster: Any = None


@dataclass
class LaunchResult:
    returncode: int | None
    status: str  # exited | timeout | cancelled | pruned | start_failed | lost (a cluster node died under it)
    duration: float
    tail: list[str]
    error: str = ""
    placement: dict[str, Any] = field(default_factory=dict)  # where it ran, for a cluster trial (node id, address)


def build_environment(request: LaunchRequest, base: dict[str, str] | None = None) -> dict[str, str]:
    """The child's environment: the user's, the request's, then the trial protocol's variables."""
    env = dict(os.environ if base is None else base)
    user_set_omp = "OMP_NUM_THREADS" in env or "OMP_NUM_THREADS" in request.env
    env.update({str(k): str(v) for k, v in request.env.items()})
    env["AFT_RUN_DIR"] = str(Path(request.run_dir).absolute())
    env["AFT_METRICS"] = str(Path(request.metrics_path).absolute())
    if request.unbuffered:
        env["PYTHONUNBUFFERED"] = "1"
    else:  # asked for explicitly, so it wins over a PYTHONUNBUFFERED left in the shell
        env.pop("PYTHONUNBUFFERED", None)
    if request.gpus is not None:
        env["CUDA_VISIBLE_DEVICES"] = ",".join(str(g) for g in request.gpus)
    if request.omp_threads is not None and not user_set_omp:
        # Parallel trials each spawning one OpenMP thread per core would oversubscribe the CPU.
        env["OMP_NUM_THREADS"] = str(request.omp_threads)
    return env
