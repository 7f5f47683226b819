"""Several `aft tune` sessions on one project at the same time share outputs/ without losing records.

Each session reads outputs/results.json, adds its trial's record and writes it back; without a
lock between processes, two sessions writing at once lost one record, and a session that no
longer found its own record ran extra trials beyond its budget.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import git
from tests.engine.helpers import script_project, aft, aft_popen
from tests.faults.helpers import strict_json

pytestmark = pytest.mark.slow

SESSIONS = 3
TRIALS = 12

SCRIPT = '''\
import argparse
import time

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, default=0.1)
parser.add_argument("--width", type=int, default=8)
args = parser.parse_args()
for epoch in range(200):
    print(f"epoch: {epoch} val_loss: {abs(args.lr - 0.03) + 1.0 / args.width + 0.1 / (1 + epoch):.6f}")
'''


def test_three_sessions_at_once_keep_every_record_and_their_own_budgets(tmp_path: Path):
    project = script_project(tmp_path, SCRIPT)

    procs = []
    for _ in range(SESSIONS):  # all in the same second: their ids differ in the random part
        procs.append(aft_popen(project, "tune", "train.py", "--trials", str(TRIALS), "--metric", "val_loss",
                               "--direction", "min", "--yes"))
    outs = [p.communicate(timeout=240) for p in procs]
    for proc, (out, err) in zip(procs, outs):
        assert proc.returncode == 0, out + err
        assert "Traceback" not in err

    out_dir = project / "outputs"
    records = strict_json((out_dir / "results.json").read_text())
    assert isinstance(records, list)
    run_ids = [r["run_id"] for r in records]
    assert len(run_ids) == len(set(run_ids)), Counter(run_ids).most_common(3)

    folders = sorted(p.name for p in out_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
    # Every trial folder has its record: none was lost to another session's write.
    assert sorted(run_ids) == folders

    sessions = sorted(p.stem for p in (project / ".aft" / "sessions").glob("*.json"))
    assert len(sessions) == SESSIONS
    for sid in sessions:
        mine = [r for r in records if r["session"] == sid]
        # Exactly its budget, numbered 1..TRIALS without gaps, with run ids that name the session.
        assert sorted(r["number"] for r in mine) == list(range(1, TRIALS + 1)), [r["number"] for r in mine]
        assert all(r["run_id"] == f"{sid}-t{r['number']:03d}" for r in mine)
        assert all(r["status"] in ("ok", "pruned") for r in mine), [(r["number"], r["status"]) for r in mine]
        trial_commits = [s for s in git(project, "log", "--format=%s", f"main..aft/{sid}").splitlines()
                         if s.startswith("trial ")]
        assert len(trial_commits) == TRIALS
        # Each per-run copy is the record results.json holds.
        for r in mine:
            assert strict_json((out_dir / r["run_id"] / "result.json").read_text()) == r

    latest = strict_json((out_dir / "result.json").read_text())
    assert latest == records[-1]  # written under the same lock as results.json, so it is the last record

    # outputs/model* is not involved (the script saves none); metadata.json is whole and strict JSON.
    assert strict_json((out_dir / "metadata.json").read_text())["session"] in sessions

    listing = aft(project, "runs", "--all", "--json")
    assert listing.returncode == 0, listing.stderr
    assert sorted(r["run_id"] for r in strict_json(listing.stdout)) == folders
    first = sessions[0]
    cmp_ = aft(project, "compare", "1", str(TRIALS), "--session", first)
    assert cmp_.returncode == 0, cmp_.stderr


def test_the_best_model_is_the_best_of_every_session(tmp_path: Path):
    """outputs/model.pt is shared: a session never replaces it with a worse model than another's."""
    from aft_tui.runs.outputs import Outputs

    outputs = Outputs(tmp_path / "outputs")

    def trial(session: str, number: int, value: float) -> Path | None:
        run_id = f"{session}-t{number:03d}"
        artifact = outputs.run_dir(run_id) / "model.pt"
        artifact.parent.mkdir(parents=True, exist_ok=True)
        artifact.write_text(run_id)
        record = {"run_id": run_id, "session": session, "number": number, "status": "ok", "metric": "val_loss",
                  "direction": "min", "value": value, "model_path": str(artifact)}
        outputs.write_result(record)
        return outputs.keep_if_best(record, artifact)

    assert trial("a", 1, 0.5) is not None
    assert trial("b", 1, 0.7) is None  # b's first trial is b's best, but a's model is better
    assert (tmp_path / "outputs" / "model.pt").read_text() == "a-t001"
    assert trial("b", 2, 0.4) is not None
    assert trial("a", 2, 0.4) is None  # a tie keeps the earlier model
    assert (tmp_path / "outputs" / "model.pt").read_text() == "b-t002"
