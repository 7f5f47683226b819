"""A trial's commit stays cheap, however long the session's history grows."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from aft_tui.vcs.workspace import Workspace


def _timed_commits(ws: Workspace, count: int, start: int) -> list[float]:
    costs = []
    for i in range(start, start + count):
        began = time.perf_counter()
        ws.commit(f"trial {i}", files={"aft_params.json": f'{{"lr": {i}}}\n'})
        costs.append(time.perf_counter() - began)
    return costs


def test_commit_cost_does_not_grow_with_history(user_repo: Path) -> None:
    ws = Workspace.create(user_repo, "s1")
    _timed_commits(ws, 3, 0)  # warm the file-system caches
    early = statistics.median(_timed_commits(ws, 20, 3))
    for i in range(500):
        sha = ws.commit(f"history {i}", files={"aft_params.json": f'{{"lr": {1000 + i}}}\n'})
        ws.tag(ws.trial_tag(i), sha)
        if i % 10 == 0:
            ws.add_note(sha, {"trial": i})
    late = statistics.median(_timed_commits(ws, 20, 2000))
    print(f"median commit: {early * 1000:.1f} ms fresh, {late * 1000:.1f} ms after 500 commits")
    assert early < 0.05, f"a commit took {early * 1000:.1f} ms"
    assert late < 3 * early, f"commits slowed from {early * 1000:.1f} ms to {late * 1000:.1f} ms"
