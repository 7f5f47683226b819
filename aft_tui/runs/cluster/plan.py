"""A session's use of the cluster, settled once before the first trial: where it is, what each
trial holds, how many run at once, what ships with them. Every trial's launch is made from it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aft_tui.runs.cluster import bundle
from aft_tui.runs.cluster.connect import Node, TrialResources, capacity, connect, nodes, resources_for
from aft_tui.settings import parse_size


@dataclass
class ClusterPlan:
    address: str
    resources: TrialResources
    capacity: int  # trials the cluster holds at once
    nodes: list[Node]
    artifacts: str = "copy"
    ship: tuple[tuple[str, Path], ...] = field(default_factory=tuple)  # (path in the project, local path)

    def describe(self) -> str:
        return (f"the Ray cluster at {self.address} ({len(self.nodes)} node{'s' if len(self.nodes) != 1 else ''}, "
                f"up to {self.capacity} trial{'s' if self.capacity != 1 else ''} at once, each holding "
                f"{self.resources.describe()})")

    def launch(self, *, run_id: str, commit: str, worktree: Path, work_root: Path, cwd: Path,
               default_python: bool) -> Any:
        """The cluster part of one trial's launch request."""
        from aft_tui.runs.cluster.executor import ClusterLaunch

        inside = work_root.relative_to(worktree)
        ship = tuple(((inside / rel).as_posix(), local) for rel, local in self.ship)
        code = bundle.CodeSource(worktree=worktree, commit=commit, rel_cwd=cwd.relative_to(worktree).as_posix(),
                                 ship=ship)
        return ClusterLaunch(address=self.address, resources=self.resources, code=code, actor_name=f"aft-{run_id}",
                             artifacts=self.artifacts, default_python=default_python)


def plan_cluster(settings: Any, project_dir: Path) -> ClusterPlan:
    """Connect, and check that one trial fits a node and that the shipped folders are sendable;
    raises a one-sentence UserError otherwise (before any trial, or any session, exists)."""
    ship = bundle.ship_folders(project_dir, list(settings.ship or []))
    address = connect(settings.cluster)
    live = nodes()
    resources = resources_for(settings.cpus_per_trial, settings.gpus_per_trial,
                              parse_size(settings.memory_per_trial) if settings.memory_per_trial else None, live)
    return ClusterPlan(address=address, resources=resources, capacity=capacity(resources, live), nodes=live,
                       artifacts=settings.cluster_artifacts, ship=ship)
