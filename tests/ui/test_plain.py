"""The plain REPL and the printed replay, in-process and as real `aft` processes without a terminal."""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
from pathlib import Path

from rich.console import Console

from aft_tui.engine import events as ev
from aft_tui.ui.launch import want_plain
from aft_tui.ui.plain import repl

ROOT = Path(__file__).resolve().parents[2]


def _console() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=120, color_system=None), out


async def test_repl_runs_commands_and_a_tune(engine):
    console, out = _console()
    code = await repl(engine, console, interactive=False,
                      lines=["/help", "/tune --trials 2", "/runs", "/status", "/theme nope", "/quit"])
    text = out.getvalue()
    assert code == 0
    assert "/rollback TRIAL" in text  # help
    assert "Trial 1 ok: val_acc=" in text and "Trial 2 ok: val_acc=" in text
    assert "/tune finished: 2 trial(s)" in text
    assert "val_acc" in text and "trial: 2/2" in text
    assert "No theme 'nope'" in text
    assert f"replay it with `aft replay {engine.session_id}`" in text


async def test_repl_edit_and_reject(engine, tmp_path, monkeypatch):
    editor = tmp_path / "editor.py"
    editor.write_text("import sys\np = sys.argv[1]\nopen(p, 'w').write(open(p).read().replace('0.1', '0.05'))\n")
    monkeypatch.setenv("EDITOR", f"{sys.executable} {editor}")
    monkeypatch.delenv("VISUAL", raising=False)
    decisions: list[ev.Decision] = []

    def lines():
        yield "/status"  # the engine has started and the REPL listens
        for _ in range(2):
            asyncio.get_running_loop().create_task(engine.propose(ev.Proposal(
                proposal_kind="params", title="t", diff="--- a/x\n+++ b/x\n@@ -1 +1 @@\n-lr=0.1\n+lr=0.2\n")))
        yield "/diff"
        yield "/edit"
        yield "/reject not this one"
        yield "/approve"

    engine.subscribe(lambda e: decisions.append(e) if isinstance(e, ev.Decision) else None)
    console, out = _console()
    await repl(engine, console, interactive=False, lines=lines())
    text = out.getvalue()
    assert [(d.proposal_id, d.approved, d.feedback) for d in decisions] == [
        ("p1", True, "edited by the user"), ("p2", False, "not this one")]
    assert "+lr=0.2" in text  # /diff printed the diff
    assert "There is no proposal waiting" in text


def _aft(project: Path, *args: str, stdin: str = "", env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", **(env or {})}
    return subprocess.run([sys.executable, "-m", "aft_tui", *args], cwd=project, input=stdin, text=True,
                          capture_output=True, env=full_env, timeout=120)


def test_chat_without_a_terminal_is_the_plain_repl(quick_project):
    proc = _aft(quick_project, "chat", "train.py", "--metric", "val_acc", "--direction", "max",
                stdin="/tune --trials 1\n/runs\n/quit\n")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Trial 1 ok: val_acc=" in proc.stdout
    assert "Trials" in proc.stdout and "duration" in proc.stdout  # the shared runs table
    assert "Traceback" not in proc.stderr
    assert (quick_project / ".aft" / "history").exists() is False  # no prompt history without a terminal


def test_replay_without_a_terminal_prints_the_transcript(tmp_path, session_file):
    proc = _aft(tmp_path, "replay", str(session_file))
    assert proc.returncode == 0, proc.stderr
    assert "Trial 2 ok: val_acc=0.915" in proc.stdout
    bad = _aft(tmp_path, "replay", "no-such-session")
    assert bad.returncode == 2 and bad.stderr.startswith("aft: No session file or id 'no-such-session'")
    assert "Traceback" not in bad.stderr
    speed = _aft(tmp_path, "replay", str(session_file), "--speed", "0")
    assert speed.returncode == 2 and "--speed must be greater than 0" in speed.stderr


def test_bad_chat_target_is_one_line(tmp_path):
    proc = _aft(tmp_path, "chat", "missing.py")
    assert proc.returncode == 2 and proc.stderr.startswith("aft: ") and "Traceback" not in proc.stderr
    proc = _aft(tmp_path, "chat")
    assert "aft chat needs your training script" in proc.stderr


def test_plain_is_chosen_for_dumb_terminals(monkeypatch):
    assert want_plain(True)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    assert not want_plain(False)
    monkeypatch.setenv("TERM", "dumb")
    assert want_plain(False)


async def test_y_and_n_decide_a_waiting_proposal(engine):
    from aft_tui.ui.plain import decision_shorthand

    assert decision_shorthand("y", pending=False) == "y"  # only while a proposal waits
    assert decision_shorthand("Yes", pending=True) == "/approve" and decision_shorthand("no", pending=True) == "/reject"
    decisions: list[ev.Decision] = []

    def lines():
        yield "/status"
        for _ in range(2):
            asyncio.get_running_loop().create_task(engine.propose(ev.Proposal(proposal_kind="params", title="t")))
        yield "/diff"  # the proposals are waiting now
        yield "n"
        yield "y"

    engine.subscribe(lambda e: decisions.append(e) if isinstance(e, ev.Decision) else None)
    console, out = _console()
    await repl(engine, console, interactive=False, lines=lines())
    assert [d.approved for d in decisions] == [False, True]
    assert "I did not recognise" not in out.getvalue()
