"""The tuner's parts driven directly, without a subprocess or git: the path of one trial, the
ledger of records, the typed record."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from aft_tui.engine import events as ev
from aft_tui.engine.trial import TrialOutcome
from aft_tui.engine.trial_record import TrialRecord, TrialStatus
from aft_tui.engine.tuner import Tuner, one_trial
from aft_tui.fsutil import json_text
from aft_tui.runs.outputs import Outputs
from aft_tui.settings import Settings
from aft_tui.tuning.base import Choice


class _Workspace:
    branch = "aft/s1"

    def __init__(self, tag_error: Exception | None = None) -> None:
        self.tag_error = tag_error
        self.tagged: list[str] = []
        self.commits = 0

    def commit(self, message: str, files: dict[str, str]) -> str:
        self.commits += 1
        return f"{self.commits:040x}"

    def trial_tag(self, suffix: str) -> str:
        return f"aft/s1/trial-{suffix}"

    def tag(self, name: str, sha: str) -> None:
        if self.tag_error is not None:
            raise self.tag_error
        self.tagged.append(name)

    def add_note(self, sha: str, note: dict[str, Any]) -> None:
        pass


class _Host:
    def __init__(self, root: Path, workspace: _Workspace) -> None:
        self.settings = Settings()
        self.settings.update({"metric": "val_loss", "direction": "min"}, "the test")
        self.state = SimpleNamespace(metric="val_loss", direction="min", space=None, save=lambda _d: None)
        self.state_dir = root / ".aft"
        self.session_id = "s1"
        self.info = SimpleNamespace(rel_script=Path("train.py"), project=root, rel_cwd=Path("."))
        self.outputs = Outputs(root / "outputs")
        self.interpreter = SimpleNamespace(command=lambda script, args: ["python", script, *args])
        self.stop_requested = False
        self.workspace = workspace
        self.work_root = root
        self.work_script = root / "train.py"
        self.trial_cwd = root
        self.script_args: list[str] = []
        self.events: list[ev.Event] = []

    def emit(self, event: ev.Event) -> None:
        self.events.append(event)

    def info_message(self, text: str) -> None:
        self.emit(ev.Info(text=text))

    def trial_spec(self, run_id: str, number: int, params: dict[str, Any], command: list[str], **_: Any) -> Any:
        return SimpleNamespace(run_id=run_id, process_note={}, process_file=None)

    def take_baseline_run(self) -> Any:
        return None


def _tuner(tmp_path: Path, monkeypatch, workspace: _Workspace, outcome: TrialOutcome) -> tuple[Tuner, _Host]:
    host = _Host(tmp_path, workspace)
    tuner = Tuner(host)
    tuner.space = SimpleNamespace(fixed={}, defaults=lambda: {"lr": 0.1})
    monkeypatch.setattr(one_trial, "build_args", lambda *a, **k: ["--lr", "0.1"])

    async def run(_tuner: Tuner, spec: Any, trial: Any) -> TrialOutcome:
        return outcome

    monkeypatch.setattr(one_trial, "_run", run)
    return tuner, host


def test_a_failed_tag_is_said_for_an_ordinary_trial(tmp_path: Path, monkeypatch):
    """The tag made in the background is waited for on every trial, not only a pruned one that
    turned out complete: its failure is said, and the trial is recorded all the same."""
    outcome = TrialOutcome(status="ok", value=0.5, history=[{"epoch": 1, "val_loss": 0.5}], duration=0.1)
    tuner, host = _tuner(tmp_path, monkeypatch, _Workspace(OSError("tag refused")), outcome)
    for number in (1, 2):
        _, record, _ = asyncio.run(one_trial.run_trial(tuner, number, Choice({"lr": 0.1}, "why", "tpe"), None,
                                                       SimpleNamespace(number=number - 1)))
        assert record["status"] == "ok"
    said = [e.text for e in host.events if isinstance(e, ev.Info)]
    assert sum("Could not tag" in s and "tag refused" in s for s in said) == 2, said
    assert [r["number"] for r in tuner.ledger.records()] == [1, 2]


def test_a_tag_that_works_says_nothing(tmp_path: Path, monkeypatch):
    outcome = TrialOutcome(status="ok", value=0.5, history=[{"epoch": 1, "val_loss": 0.5}], duration=0.1)
    workspace = _Workspace()
    tuner, host = _tuner(tmp_path, monkeypatch, workspace, outcome)
    asyncio.run(one_trial.run_trial(tuner, 1, Choice({"lr": 0.1}, "why", "tpe"), None, SimpleNamespace(number=0)))
    assert workspace.tagged == ["aft/s1/trial-001"]
    assert not [e for e in host.events if isinstance(e, ev.Info) and "Could not" in e.text]


def test_the_ledger_reads_results_json_again_only_when_it_changed(tmp_path: Path, monkeypatch):
    outputs = Outputs(tmp_path / "outputs")
    outputs.root.mkdir()
    from aft_tui.engine.tuner.ledger import Ledger

    ledger = Ledger(outputs, "s1")
    reads = []
    real = outputs.results
    monkeypatch.setattr(outputs, "results", lambda: reads.append(1) or real())
    assert ledger.records() == [] and ledger.records() == []
    assert len(reads) == 1
    ledger.write({"run_id": "s1-t001", "session": "s1", "number": 1, "status": "ok", "value": 1.0})
    assert ledger.finished_count() == 1 and ledger.best("max")["run_id"] == "s1-t001"
    other = Outputs(outputs.root)  # another session writes beside this one
    other.write_result({"run_id": "s2-t001", "session": "s2", "number": 1, "status": "ok", "value": 2.0})
    assert [r["run_id"] for r in ledger.records()] == ["s1-t001"]  # only this session's count
    assert len(reads) == 3


def test_a_record_keeps_its_json_key_for_key(tmp_path: Path):
    record = TrialRecord(run_id="s1-t001", session="s1", number=1, optuna_trial=0, status="ok", value=0.25,
                         params={"lr": 0.1}, metric="val_loss", direction="min", model_path="m.pt",
                         diagnosis=None, extra={"later_key": 1})
    data = record.to_json()
    assert data["value"] == data["final"] == data["validation"] == 0.25
    assert data["model_pt_path"] == "m.pt" and "diagnosis" not in data
    again = TrialRecord.from_json(json.loads(json_text(data)))
    assert json_text(again.to_json()) == json_text(data)
    assert again.counted and TrialStatus.CANCELLED.counted is False
