"""A damaged outputs/results.json (or metadata.json, or a run's result.json) is reported in one
sentence naming it, kept aside, and rebuilt from the other copies of each record: the run
folders' result.json and the git notes on the trial commits. Nothing else is lost."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from tests.engine.helpers import script_project, aft, aft_env
from tests.faults.helpers import strict_json

pytestmark = pytest.mark.slow

SCRIPT = '''\
import argparse

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, default=0.1)
parser.add_argument("--width", type=int, default=8)
args = parser.parse_args()
for epoch in range(3):
    print(f"epoch: {epoch} val_loss: {abs(args.lr - 0.03) + 1.0 / args.width + 0.1 * (3 - epoch):.6f}")
'''

TUNE = ("tune", "train.py", "--metric", "val_loss", "--direction", "min", "--yes")


def _make_project(root: Path, env: dict[str, str], trials: int) -> Path:
    project = script_project(root, SCRIPT)
    proc = aft(project, *TUNE, "--trials", str(trials), env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return project


def _run_copies(project: Path) -> dict[str, dict]:
    """Each run folder's own copy of its record."""
    out = project / "outputs"
    return {p.name: strict_json((p / "result.json").read_text()) for p in sorted(out.iterdir())
            if p.is_dir() and (p / "result.json").is_file()}


def _aside(sentence: str, folder: Path, name: str) -> Path:
    match = re.search(re.escape(name) + r"\.corrupt-[0-9-]+", sentence)
    assert match, sentence
    return folder / match.group(0)


@pytest.fixture(scope="module")
def tuned(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("corrupt")
    env = aft_env(XDG_CONFIG_HOME=str(root / "xdg"))
    return _make_project(root, env, 3), env


CORRUPTIONS = {
    "torn": b"[{",
    "binary": bytes(range(256)) * 4,
    "an object, not a list": b'{"run_id": 3, "status": "ok"}\n',
    "items that are not records": b'[1, "two", null, [3]]\n',
}


@pytest.mark.parametrize("kind", list(CORRUPTIONS))
def test_a_corrupt_results_file_is_named_kept_and_rebuilt_from_the_run_folders(tuned, kind):
    project, env = tuned
    out = project / "outputs"
    path = out / "results.json"
    copies = _run_copies(project)
    assert len(copies) == 3
    path.write_bytes(CORRUPTIONS[kind])

    proc = aft(project, "runs", "--all", "--json", env=env)

    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr  # one sentence, no traceback
    sentence = lines[0]
    assert str(path) in sentence and "corrupt" in sentence and sentence.endswith("."), sentence
    listed = strict_json(proc.stdout)
    assert {r["run_id"]: r for r in listed} == copies
    rebuilt = strict_json(path.read_text())
    assert {r["run_id"]: r for r in rebuilt} == copies
    assert [r["number"] for r in rebuilt] == [1, 2, 3]  # in the order the trials finished
    assert _aside(sentence, out, "results.json").read_bytes() == CORRUPTIONS[kind]  # kept, byte for byte

    again = aft(project, "runs", "--all", "--json", env=env)  # repaired: nothing more to say
    assert again.returncode == 0 and again.stderr == "", again.stderr


def test_a_torn_results_file_keeps_the_records_it_still_holds(tuned):
    """A record whose run folder is gone is kept from the readable part of the damaged file."""
    project, env = tuned
    out = project / "outputs"
    path = out / "results.json"
    records = strict_json(path.read_text())
    text = json.dumps(records, indent=2)
    cut = text.index(records[2]["run_id"])  # torn inside the third record
    path.write_text(text[:cut])
    gone = out / records[0]["run_id"]
    kept = gone.with_name(".kept-aside")
    gone.rename(kept)
    try:
        proc = aft(project, "runs", "--all", "--json", env=env)
        assert proc.returncode == 0, proc.stderr
        listed = {r["run_id"]: r for r in strict_json(proc.stdout)}
        assert listed == {r["run_id"]: r for r in records}
    finally:
        kept.rename(gone)


def test_commands_that_read_trials_repair_too(tuned):
    project, env = tuned
    path = project / "outputs" / "results.json"
    for command in (("runs",), ("compare", "1", "2"), ("sessions",)):
        path.write_bytes(b"[{")
        proc = aft(project, *command, env=env)
        assert proc.returncode == 0, (command, proc.stderr)
        assert "Traceback" not in proc.stderr and str(path) in proc.stderr, (command, proc.stderr)
        assert len(strict_json(path.read_text())) == 3


def test_run_folders_gone_or_corrupt_are_rebuilt_from_the_git_notes(tmp_path: Path):
    env = aft_env(XDG_CONFIG_HOME=str(tmp_path / "xdg"))
    project = _make_project(tmp_path, env, 3)
    out = project / "outputs"
    original = {r["number"]: r for r in strict_json((out / "results.json").read_text())}
    shutil.rmtree(out / original[2]["run_id"])  # the person cleaned a run folder up
    broken = out / original[3]["run_id"] / "result.json"
    broken.write_bytes(b"\x00\x01 not json")
    (out / "results.json").write_bytes(b"[{")

    proc = aft(project, "runs", "--json", env=env)

    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 2, proc.stderr
    assert str(broken) in lines[0] and "skipped" in lines[0]  # the corrupt run copy, in one line
    assert str(out / "results.json") in lines[1] and "git notes" in lines[1]
    listed = {r["number"]: r for r in strict_json(proc.stdout)}
    assert sorted(listed) == [1, 2, 3]
    assert listed[1] == original[1]  # from its run folder, whole
    for n in (2, 3):  # from the note on the trial commit and the commit's parameters file
        got, want = listed[n], original[n]
        for key in ("run_id", "session", "number", "status", "reason", "metric", "direction", "value", "best",
                    "params", "commit", "tag", "strategy", "rationale", "optuna_trial"):
            assert got[key] == want[key], (n, key, got[key], want[key])
        assert got["recovered_from"].startswith("the git note")
    assert broken.read_bytes() == b"\x00\x01 not json"  # a run's own file is reported, never rewritten

    cmp_ = aft(project, "compare", "2", "3", env=env)  # the rebuilt records still lead to their commits
    assert cmp_.returncode == 0, cmp_.stderr


def test_tuning_on_corrupt_results_and_metadata_repairs_both_and_loses_nothing(tuned):
    project, env = tuned
    out = project / "outputs"
    before = _run_copies(project)
    (out / "results.json").write_bytes(b'[{"run_id": ')
    (out / "metadata.json").write_bytes(b"\xff\xfe metadata")

    proc = aft(project, *TUNE, "--trials", "2", env=env)

    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    said = " ".join((proc.stdout + proc.stderr).split())  # the view wraps long lines
    assert f"{out / 'results.json'} was corrupt" in said and f"{out / 'metadata.json'} was corrupt" in said, said
    assert _aside(said, out, "results.json").read_bytes() == b'[{"run_id": '
    assert _aside(said, out, "metadata.json").read_bytes() == b"\xff\xfe metadata"

    after = _run_copies(project)
    assert len(after) == len(before) + 2 and all(after[k] == v for k, v in before.items())
    assert {r["run_id"]: r for r in strict_json((out / "results.json").read_text())} == after
    assert strict_json((out / "metadata.json").read_text())["trials"] == 2


def test_a_corrupt_metadata_file_is_named_and_kept_when_read(tmp_path: Path):
    from aft_tui.runs.outputs import Outputs

    said: list[str] = []
    outputs = Outputs(tmp_path / "outputs", warn=said.append)
    (tmp_path / "outputs").mkdir()
    (tmp_path / "outputs" / "metadata.json").write_text("[1, 2]")
    assert outputs.metadata() == {}
    assert len(said) == 1 and str(tmp_path / "outputs" / "metadata.json") in said[0]
    assert _aside(said[0], tmp_path / "outputs", "metadata.json").read_text() == "[1, 2]"



def test_a_broken_result_file_the_script_writes_is_named_and_ignored(tmp_path: Path):
    """A script may write its own result.json into $AFT_RUN_DIR; a torn one must not fail the trial."""
    env = aft_env(XDG_CONFIG_HOME=str(tmp_path / "xdg"))
    project = script_project(tmp_path, SCRIPT + 'import os\nopen(os.path.join(os.environ["AFT_RUN_DIR"], "result.json"), "w").write("[{")\n')
    proc = aft(project, *TUNE, "--trials", "2", env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    records = strict_json((project / "outputs" / "results.json").read_text())
    assert [r["status"] for r in records] == ["ok", "ok"]
    assert all(isinstance(r["value"], float) for r in records)


async def test_a_session_tells_its_views_about_a_repair_not_just_stderr(tmp_path: Path, capsys: pytest.CaptureFixture):
    """In `aft chat` the person reads the conversation, not stderr: `/runs` on a damaged file says so there."""
    from aft_tui.engine import events as ev
    from aft_tui.engine.engine import Engine
    from aft_tui.settings import Settings

    project = _make_project(tmp_path, aft_env(XDG_CONFIG_HOME=str(tmp_path / "xdg")), 2)
    settings = Settings()
    settings.update({"metric": "val_loss", "direction": "min"}, "the test")
    engine = Engine.open(project / "train.py", settings, project=project)
    await engine.start()
    seen: list[str] = []
    engine.subscribe(lambda e: seen.append(e.text) if isinstance(e, ev.Info) else None)
    try:
        (project / "outputs" / "results.json").write_bytes(b"[{")
        assert len(engine.runs(session_only=False)) == 2
    finally:
        engine.close("test over")
    assert any("results.json was corrupt" in text for text in seen), seen
    assert "corrupt" not in capsys.readouterr().err
