"""Quick variant of benchmark 2: a chatty trial through the engine keeps every line, costs little
CPU per line and does not keep the output in memory."""

from __future__ import annotations

from pathlib import Path

from benchmarks.common import make_project
from benchmarks.passthrough import SCRIPT, _child


def test_engine_passthrough_is_cheap_per_line_and_memory_stays_flat(tmp_path: Path):
    big, small = 100_000, 10_000
    result = _child("engine", make_project(tmp_path, {"train.py": SCRIPT}, name="big"), big)
    baseline = _child("engine", make_project(tmp_path, {"train.py": SCRIPT}, name="small"), small)
    print(result, baseline)
    assert result["logged"] == big + 1 and result["status"] == {"ok": 1}
    # Roughly 5 microseconds of AFT's CPU per line today; 30 would mean per-line work crept in.
    assert result["cpu_s"] < big * 30e-6, result
    # Keeping the lines in memory would add over 12 MiB for 90,000 more lines.
    assert result["peak_rss_mib"] - baseline["peak_rss_mib"] < 8, (result, baseline)
