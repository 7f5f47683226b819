"""Parallel trials on one machine: results identical in content to sequential runs, CPU-only
fallback, and GPU slots handed to each trial through CUDA_VISIBLE_DEVICES."""

from __future__ import annotations

import json

import pytest

from aft_tui.runs.slots import assign_slots
from tests.conftest import git
from tests.tuning.conftest import session_events, tune

pytestmark = pytest.mark.slow

# A grid over width x optimizer (lr and epochs fixed): the grid sampler proposes the same points
# whatever the order trials finish in, so a sequential and a parallel session must agree exactly.
GRID = {"lr": {"fixed": 0.01}, "epochs": {"fixed": 3}}


def _content(records):
    return sorted((json.dumps(r["params"], sort_keys=True), r["status"], r["value"]) for r in records)


async def test_parallel_results_match_sequential_ones(curve_project, monkeypatch):
    monkeypatch.setenv("AFT_TEST_SLEEP", "0.15")
    _, sequential, _ = await tune(curve_project, 6, strategy="grid", search=GRID)
    summary, parallel, engine = await tune(curve_project, 6, strategy="grid", search=GRID, parallel=2)
    assert summary["end_reason"] in ("6 trials run", "every point of the grid has run")
    assert _content(parallel) == _content(sequential)
    assert [sorted(r) for r in parallel] == [sorted(r) for r in sequential]  # the same fields
    assert sorted(r["number"] for r in parallel) == list(range(1, len(parallel) + 1))
    # Two trials really ran at once (CPU-only slots: no GPU is visible here).
    spans = sorted((r["started_at"], r["finished_at"]) for r in parallel)
    assert any(b[0] < a[1] for a, b in zip(spans, spans[1:]))
    # One commit per trial on the session branch, each holding that trial's parameters.
    branch = engine.workspace.branch
    subjects = git(curve_project, "log", "--format=%s", f"main..{branch}").splitlines()
    assert len([s for s in subjects if s.startswith("trial ")]) == len(parallel)
    for r in parallel:
        params_file = json.loads(git(curve_project, "show", f"{r['commit']}:aft_params.json"))
        assert params_file["params"] == r["params"] and params_file["trial"] == r["number"]
    assert len({r["commit"] for r in parallel}) == len(parallel)
    # The session log pairs every start with one finish, in order.
    events = session_events(engine)
    starts = [e["run_id"] for e in events if e["kind"] == "trial_started"]
    ends = [e["run_id"] for e in events if e["kind"] == "trial_finished"]
    assert sorted(starts) == sorted(ends) == sorted(r["run_id"] for r in parallel)
    for run_id in starts:
        assert [e["kind"] for e in events if e.get("run_id") == run_id and e["kind"] in
                ("trial_started", "trial_finished")] == ["trial_started", "trial_finished"]


async def test_each_parallel_trial_gets_its_own_gpu_slot(curve_project, monkeypatch, tmp_path):
    log = tmp_path / "gpus.jsonl"
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5")
    monkeypatch.setenv("AFT_TEST_GPU_LOG", str(log))
    monkeypatch.setenv("AFT_TEST_SLEEP", "0.15")
    _, records, engine = await tune(curve_project, 4, strategy="random", search=GRID, parallel=2)
    seen = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(seen) == 4 and {s["cuda"] for s in seen} == {"3", "5"}
    started = {e["run_id"]: e for e in session_events(engine) if e["kind"] == "trial_started"}
    for r in records:
        assert started[r["run_id"]]["gpus"] in ([3], [5])
    # Trials that overlapped in time held different GPUs.
    spans = [(r["started_at"], r["finished_at"], started[r["run_id"]]["gpus"]) for r in records]
    for i, a in enumerate(spans):
        for b in spans[i + 1:]:
            if a[0] < b[1] and b[0] < a[1]:
                assert a[2] != b[2]


def test_slots_split_visible_gpus_and_fall_back_to_cpu():
    assert assign_slots(2, 2, [0, 1, 2, 3]) == [[0, 1], [2, 3]]
    assert assign_slots(2, 1, []) == [None, None]
