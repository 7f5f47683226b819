"""Quick variant of benchmark 4: appending and replaying a session log, and the cost of history."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

from aft_tui.engine import events as ev
from aft_tui.engine.session_log import SessionLog, read_events
from aft_tui.fsutil import json_text
from aft_tui.runs.outputs import Outputs
from aft_tui.ui.session_view import SessionView
from benchmarks.session_log import measure_git, measure_log, measure_outputs, synthetic_events


def test_replay_of_ten_thousand_events_is_well_under_five_seconds(tmp_path: Path):
    result = measure_log(10_000, tmp_path)
    print(result)
    assert result["replay_s"] < 5.0
    assert result["append_s"] < 5.0


def test_logged_events_round_trip(tmp_path: Path):
    events = synthetic_events(500) + [ev.TrialMetric(run_id="x", step=1, values={"loss": math.nan, "acc": math.inf})]
    with SessionLog(tmp_path / "s.jsonl") as log:
        for event in events:
            log.append(event)
    back = list(read_events(tmp_path / "s.jsonl"))
    assert [e.to_dict() for e in back[:-1]] == [json.loads(json.dumps(e.to_dict())) for e in events[:-1]]
    assert back[-1].values == {"loss": "nan", "acc": "inf"}  # JSON has no NaN: stored as text


def test_metric_points_merge_in_linear_time():
    view = SessionView()
    view.apply(ev.TrialStarted(run_id="r", number=1))
    began = time.perf_counter()
    for step in range(20_000):
        view.apply(ev.TrialMetric(run_id="r", step=step, values={"loss": 1.0 / (step + 1)}))
    view.apply(ev.TrialMetric(run_id="r", step=7, values={"acc": 0.5}))  # the same evaluation, reported twice
    view.apply(ev.TrialMetric(run_id="r", epoch=1.0, values={"val": 1.0}))
    view.apply(ev.TrialMetric(run_id="r", epoch=1, values={"val2": 2.0}))
    view.apply(ev.TrialMetric(run_id="r", values={"no_position": 3.0}))
    view.apply(ev.TrialMetric(run_id="r", values={"no_position": 4.0}))
    elapsed = time.perf_counter() - began
    history = view.trials["r"].history
    assert len(history) == 20_000 + 1 + 2
    assert history[7] == {"loss": 1.0 / 8, "acc": 0.5, "step": 7}
    assert history[20_000] == {"val": 1.0, "val2": 2.0, "epoch": 1}
    assert elapsed < 5.0  # scanning the history for each point took minutes
    view.apply(ev.TrialStarted(run_id="r", number=1))  # a re-run starts a fresh history
    view.apply(ev.TrialMetric(run_id="r", step=7, values={"acc": 0.9}))
    assert view.trials["r"].history == [{"acc": 0.9, "step": 7}]


def test_results_file_is_the_plain_dump_and_readers_follow_other_writers(tmp_path: Path):
    outputs = Outputs(tmp_path / "outputs")
    records = []
    for i in range(12):
        record = {"run_id": f"r{i % 10}", "value": i / 3, "path": tmp_path, "pair": (1, 2), "empty": {}, "text": "a\nb"}
        outputs.run_dir(record["run_id"]).mkdir(parents=True, exist_ok=True)
        outputs.write_result(record)
        records = [r for r in records if r["run_id"] != record["run_id"]] + [record]
        expected = json_text(records) + "\n"
        assert (tmp_path / "outputs" / "results.json").read_text() == expected
        assert outputs.results() == json.loads(expected) == Outputs(tmp_path / "outputs").results()
    outputs.results()[0]["value"] = "changed by a caller"
    assert outputs.results()[0]["value"] != "changed by a caller"
    (tmp_path / "outputs" / "results.json").write_text("[]\n")  # another process rewrote it
    assert outputs.results() == []


def test_git_bookkeeping_does_not_grow_with_history(tmp_path: Path):
    result = measure_git(100, tmp_path, window=15)
    early, late = result["early_s"], result["late_s"]
    print(f"git per trial: {early * 1000:.1f} ms new, {late * 1000:.1f} ms after 100 trials")
    assert late < 3 * early


def test_outputs_bookkeeping_does_not_grow_quickly_with_history(tmp_path: Path):
    result = measure_outputs(300, tmp_path, window=15)
    print(result)
    # Re-serialising every record on each trial made this ten times slower at 300 trials.
    assert result["late_s"] < 4 * result["early_s"] + 0.01
