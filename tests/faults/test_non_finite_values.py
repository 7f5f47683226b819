"""NaN and infinity never reach a file AFT writes as bare `NaN`/`Infinity`, which strict JSON
parsers reject: they are spelled "nan", "inf", "-inf" as in the session log, and every reader of
the records (the tuner on resume, `aft runs`, `aft compare`, the analyzer, replay) reads them."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from tests.conftest import git
from tests.engine.helpers import script_project, aft
from tests.faults.helpers import strict_json

pytestmark = pytest.mark.slow

# The defaults diverge at the last epoch (trial 1 fails with a NaN objective), other settings do
# not; every run reports an infinite gradient norm at its first epoch.
SCRIPT = '''\
import argparse
import math

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, default=0.1)
parser.add_argument("--width", type=int, default=8)
args = parser.parse_args()
for epoch in range(3):
    diverges = (args.lr, args.width) == (0.1, 8) and epoch == 2
    loss = math.nan if diverges else abs(args.lr - 0.03) + 1.0 / args.width + 0.1 * (2 - epoch)
    print(f"epoch: {epoch} val_loss: {loss} grad_norm: {math.inf if epoch == 0 else 1.0}")
'''


def test_files_hold_strict_json_and_every_reader_takes_the_spelled_values(tmp_path: Path):
    project = script_project(tmp_path, SCRIPT)
    proc = aft(project, "tune", "train.py", "--trials", "3", "--metric", "val_loss", "--direction", "min", "--yes")
    assert proc.returncode == 0, proc.stdout + proc.stderr

    out = project / "outputs"
    records = strict_json((out / "results.json").read_text())
    first = next(r for r in records if r["number"] == 1)
    assert first["status"] == "failed" and first["value"] == "nan" and "nan" in first["reason"]
    assert first["history"][0]["grad_norm"] == "inf" and first["history"][-1]["val_loss"] == "nan"
    for r in records:
        assert strict_json((out / r["run_id"] / "result.json").read_text()) == r
        note = git(project, "notes", "--ref", "aft", "show", r["commit"])
        assert strict_json(note)["value"] == r["value"]
        strict_json(git(project, "show", f"{r['commit']}:aft_params.json"))
    strict_json((out / "result.json").read_text())
    strict_json((out / "metadata.json").read_text())
    (sid,) = [p.stem for p in (project / ".aft" / "sessions").glob("*.json")]
    strict_json((project / ".aft" / "sessions" / f"{sid}.json").read_text())

    # aft runs, as a table and as JSON
    table = aft(project, "runs")
    assert table.returncode == 0 and "nan" in table.stdout, table.stderr
    listing = aft(project, "runs", "--json")
    assert listing.returncode == 0
    assert strict_json(listing.stdout) == records
    # aft compare with a NaN objective on one side
    ok = next(r for r in records if r["status"] == "ok")
    cmp_ = aft(project, "compare", "1", str(ok["number"]))
    assert cmp_.returncode == 0 and "nan" in cmp_.stdout, cmp_.stderr
    # the analyzer, on the curve as the file holds it
    from aft_tui.tuning.analyzer import analyze_trial

    assert analyze_trial(first["history"], "val_loss", "min")[0].code == "diverged"
    # replay of the session
    replay = aft(project, "replay", sid)
    assert replay.returncode == 0, replay.stderr
    # the tuner, resuming from the records
    resumed = aft(project, "tune", "--resume", sid, "--trials", "4", "--yes")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    again = strict_json((out / "results.json").read_text())
    assert len(again) == 4 and [r for r in again if r["number"] == 1] == [first]


def test_json_text_spells_non_finite_numbers_wherever_they_are():
    from aft_tui.fsutil import json_text, number

    class Report:
        def to_dict(self) -> dict:
            return {"loss": math.nan}

    data = {"value": math.nan, "curve": [1.0, math.inf, -math.inf], "pair": (math.nan, 2), "report": Report(),
            "path": Path("/x")}
    back = strict_json(json_text(data))
    assert back == {"value": "nan", "curve": [1.0, "inf", "-inf"], "pair": ["nan", 2], "report": {"loss": "nan"},
                    "path": "/x"}
    assert math.isnan(number("nan")) and number("inf") == math.inf and number("-inf") == -math.inf
    assert number("0.5") is None and number(True) is None and number(2) == 2.0


def test_a_results_file_with_bare_nan_from_an_older_version_is_read_and_rewritten_strict(tmp_path: Path):
    from aft_tui.runs.outputs import Outputs

    out = tmp_path / "outputs"
    out.mkdir()
    (out / "results.json").write_text('[\n  {"run_id": "s-t001", "session": "s", "number": 1, "value": NaN}\n]\n')
    outputs = Outputs(out)
    assert math.isnan(outputs.results()[0]["value"])  # still readable
    outputs.run_dir("s-t002").mkdir()
    outputs.write_result({"run_id": "s-t002", "session": "s", "number": 2, "value": math.inf})
    assert strict_json((out / "results.json").read_text()) == [
        {"run_id": "s-t001", "session": "s", "number": 1, "value": "nan"},
        {"run_id": "s-t002", "session": "s", "number": 2, "value": "inf"}]
