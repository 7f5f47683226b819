"""Damaged session files: one sentence naming the file, the right exit code, the rest still usable.

A session state file (`.aft/sessions/ID.json`) or log (`ID.jsonl`) can be damaged by a disk
error, a bad copy or a hand edit. `aft sessions` names the damaged record and lists the others,
`aft tune --resume` says which file is damaged and what to do, and `aft replay` shows the
readable events and says which lines it skipped.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.engine.helpers import script_project, aft, session_ids

SCRIPT = '''\
import argparse
p = argparse.ArgumentParser()
p.add_argument("--lr", type=float, default=0.01)
a = p.parse_args()
print("epoch 1", flush=True)
print(f"val_loss: {abs(a.lr - 0.05) + 0.1:.4f}", flush=True)
'''


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git project with one real finished session (one trial), made once for the module."""
    project = script_project(tmp_path_factory.mktemp("recorded"), SCRIPT)
    done = aft(project, "tune", "train.py", "--trials", "1", "--metric", "val_loss", "--direction", "min", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    return project


@pytest.fixture
def project(recorded: Path, tmp_path: Path) -> Path:
    """A copy of the recorded project this test may damage."""
    copy = tmp_path / "proj"
    shutil.copytree(recorded, copy, symlinks=True)
    return copy


def _state(project: Path) -> tuple[str, dict]:
    (sid,) = session_ids(project)
    return sid, json.loads((project / ".aft" / "sessions" / f"{sid}.json").read_text())


def _one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("aft: ")
    return lines[0]


def _no_crash(proc) -> None:
    text = proc.stdout + proc.stderr
    assert "Traceback" not in text and "internal error" not in text, text


def _set(**fields):
    def damage(state: dict) -> bytes:
        return json.dumps({**state, "session_id": "zz-damaged", **fields}).encode()

    return damage


def _without(name: str):
    def damage(state: dict) -> bytes:
        data = {**state, "session_id": "zz-damaged"}
        del data[name]
        return json.dumps(data).encode()

    return damage


DAMAGES = {
    "invalid JSON": (lambda state: b'{"session_id": "zz-damaged", ', "not valid JSON"),
    "binary": (lambda state: b"\x00\xff\xfe\x89PNG\r\n\x1a\n" + bytes(range(256)), "not text"),
    "not an object": (lambda state: b"[1, 2, 3]\n", "not a JSON object"),
    "settings is a number": (_set(settings=3), "'settings' holds a number"),
    "created is text": (_set(created="x"), "'created' holds text"),
    "args hold a number": (_set(args=["--lr", 3]), "'args' holds a list with an entry of the wrong type"),
    "no target": (_without("target"), "no 'target' field"),
}


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_a_damaged_state_file_is_named_and_the_other_sessions_are_listed(project: Path, damage: str):
    sid, state = _state(project)
    make, reason = DAMAGES[damage]
    bad = project / ".aft" / "sessions" / "zz-damaged.json"
    bad.write_bytes(make(state))

    listed = aft(project, "sessions")
    _no_crash(listed)
    assert listed.returncode == 0
    line = _one_line(listed.stderr)
    assert str(bad) in line and reason in line, line
    assert sid in listed.stdout  # the readable session is still listed
    assert "zz-damaged" not in listed.stdout


@pytest.mark.parametrize("damage", ["invalid JSON", "binary", "settings is a number", "created is text"])
def test_resuming_a_damaged_session_is_one_sentence_with_the_path(project: Path, damage: str):
    sid, state = _state(project)
    make, reason = DAMAGES[damage]
    path = project / ".aft" / "sessions" / f"{sid}.json"
    damaged = make(state)
    if damage in ("settings is a number", "created is text"):
        damaged = json.dumps({**json.loads(damaged), "session_id": sid}).encode()
    path.write_bytes(damaged)

    resumed = aft(project, "tune", "--resume", sid)
    _no_crash(resumed)
    assert resumed.returncode == 1
    line = _one_line(resumed.stderr)
    assert str(path) in line and reason in line and "restore that file" in line, line
    assert path.read_bytes() == damaged  # left as it was, for the person to restore


def _log(project: Path) -> tuple[str, Path, list[str]]:
    (sid,) = session_ids(project)
    path = project / ".aft" / "sessions" / f"{sid}.jsonl"
    return sid, path, path.read_text().splitlines()


def test_replay_shows_the_readable_events_and_names_the_skipped_lines(project: Path):
    sid, path, lines = _log(project)
    damaged = [
        b"\x00\xff\xfe binary garbage \x89PNG",
        json.dumps({"kind": "trial_log", "run_id": "x", "lines": 5, "ts": 1.0}).encode(),
        json.dumps({"kind": "trial_finished", "run_id": "x", "number": 2, "duration": "slow", "ts": 1.0}).encode(),
        json.dumps({"kind": ["not", "text"], "ts": "x"}).encode(),
        json.dumps({"kind": "user_message", "text": {"not": "text"}}).encode(),
        b"[1, 2]",
    ]
    body = [line.encode() for line in lines]
    path.write_bytes(b"\n".join(body[:2] + damaged + body[2:]) + b"\n" + b'{"kind": "trial_log", "run_')

    for ref in (str(path), sid):
        replay = aft(project, "replay", "--plain", ref)
        _no_crash(replay)
        assert replay.returncode == 0
        assert "Trial 1 ok: val_loss=" in replay.stdout and "Session ended" in replay.stdout
        note = _one_line(replay.stderr)
        assert f"Skipped 6 unreadable lines of {path}" in note and "lines 3, 4, 5, 6, 7, 8" in note, note


def test_a_log_with_a_damaged_byte_inside_an_event_still_shows_that_event(project: Path):
    sid, path, lines = _log(project)
    raw = path.read_bytes().replace(b'"Started', b'"Started \xff\xfe', 1)
    user = json.dumps({"kind": "user_message", "text": "before \udcff after"}, ensure_ascii=True).encode()
    path.write_bytes(raw + user.replace(b"\\udcff", b"\xff") + b"\n")

    replay = aft(project, "replay", "--plain", str(path))
    _no_crash(replay)
    assert replay.returncode == 0 and replay.stderr == ""
    assert "you> before \ufffd after" in replay.stdout


def test_a_torn_last_line_is_skipped_quietly(project: Path):
    sid, path, lines = _log(project)
    with open(path, "a") as fh:
        fh.write('{"kind": "trial_started", "run_id": "')  # AFT killed mid-write

    replay = aft(project, "replay", "--plain", sid)
    _no_crash(replay)
    assert replay.returncode == 0 and replay.stderr == ""
    assert "Trial 1 ok" in replay.stdout


def test_a_log_with_no_readable_event_is_one_sentence(project: Path):
    sid, path, lines = _log(project)
    path.write_bytes(b"\x00\xff\xfe\x89PNG\r\n\x1a\n" + bytes(range(256)) + b"\n")

    replay = aft(project, "replay", "--plain", sid)
    _no_crash(replay)
    assert replay.returncode == 2
    line = _one_line(replay.stderr)
    assert str(path) in line and "holds no events" in line, line


def test_runs_reads_past_a_damaged_log(project: Path):
    sid, path, lines = _log(project)
    with open(path, "ab") as fh:
        fh.write(b'\xff\xfe{"kind": "llm_usage"\n{"kind": "llm_usage", "calls": "x", "prompt_tokens": []}\n')

    runs = aft(project, "runs")
    _no_crash(runs)
    assert runs.returncode == 0 and "val_loss" in runs.stdout


def test_a_resume_after_a_kill_mid_write_starts_its_events_on_a_new_line(project: Path):
    sid, path, lines = _log(project)
    with open(path, "a") as fh:
        fh.write('{"kind": "trial_started", "run_id": "')  # AFT killed mid-write

    resumed = aft(project, "tune", "--resume", sid, "--trials", "2")
    _no_crash(resumed)
    assert resumed.returncode == 0, resumed.stderr
    unreadable, events = [], []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        try:
            events.append(json.loads(line))
        except ValueError:
            unreadable.append(number)
    assert unreadable == [len(lines) + 1]  # only the torn line itself: the resume's first event is not glued to it
    assert any(e["kind"] == "session_started" and e["resumed"] for e in events)
    assert sum(e["kind"] == "trial_finished" for e in events) == 2


def test_the_python_api_names_a_damaged_session_and_lists_the_others(tmp_path: Path):
    import warnings as _warnings

    from aft_tui import api

    sessions = tmp_path / ".aft" / "sessions"
    sessions.mkdir(parents=True)
    (sessions / "20260101-000000-aaa.json").write_text(json.dumps(
        {"session_id": "20260101-000000-aaa", "project": str(tmp_path), "target": "train.py", "status": "finished"}))
    (sessions / "20260101-000001-bbb.json").write_bytes(b"\x00\xff{")
    with _warnings.catch_warnings(record=True) as caught:
        _warnings.simplefilter("always")
        listed = api.sessions(tmp_path)
    assert [s["session"] for s in listed] == ["20260101-000000-aaa"]
    assert any("20260101-000001-bbb.json is damaged" in str(w.message) for w in caught), [str(w.message) for w in caught]
