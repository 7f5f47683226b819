"""Quick variant of benchmark 1: a few trials through the engine, failing only on a gross regression."""

from __future__ import annotations

from benchmarks.trial_overhead import TARGET_MS, measure


def test_per_trial_overhead_stays_within_ten_times_the_target(tmp_path):
    result = measure(trials=6, workdir=tmp_path)
    added_ms = result["added_steady"] * 1000
    print(f"AFT adds {added_ms:.1f} ms per trial (direct run {result['direct_median'] * 1000:.1f} ms)")
    assert added_ms < 10 * TARGET_MS, result["phases"]
    # Every step of the bookkeeping ran once per trial.
    assert len(result["phase_calls"]) == 7
    assert all(calls == 6 for calls in result["phase_calls"].values()), result["phase_calls"]
