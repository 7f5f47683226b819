"""The tuning benchmark's smoke mode runs end to end: real sessions, table, plot, raw data."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def test_quick_benchmark_writes_table_plot_and_raw_results(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""), OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-m", "benchmarks.tuning", "--quick", "--out", str(tmp_path)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    table = (tmp_path / "tuning-benchmark.md").read_text()
    assert "## Targets" in table and "## curves-crossing" in table
    for config in ("**tpe**", "random", "coordinate"):
        assert f"| {config} |" in table
    assert (tmp_path / "tuning-benchmark.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    raw = json.loads(gzip.decompress((tmp_path / "tuning-benchmark.json.gz").read_bytes()))
    assert raw["meta"]["errors"] == 0 and len(raw["results"]) == 6
    for result in raw["results"]:
        trials = result["trials"]
        assert len(trials) == 6 and trials[0]["strategy"] == "defaults"
        assert all(t["epochs"] >= 1 for t in trials if t["status"] == "ok")
