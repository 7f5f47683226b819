"""The two-node Ray cluster the cluster tests run trials on (head on the host, second node in a namespace)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.cluster.local_cluster import LocalRayCluster, unavailable_reason


@pytest.fixture(scope="module")
def cluster_host() -> None:
    """Skips, saying why, where no cluster can be built here (no `ray`, not root, no `ip netns`)."""
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(reason)


@pytest.fixture(scope="module")
def ray_cluster(cluster_host: None) -> Iterator[LocalRayCluster]:
    """One cluster per test module: building one costs several seconds on a 2-core machine."""
    with LocalRayCluster() as cluster:
        yield cluster
