"""Text AFT did not write itself, shown safely: escape sequences in a shared recording or a script's
output never reach the terminal, Rich markup in them stays literal, and piped input that is not
valid UTF-8 neither crashes `aft chat --plain` nor reaches the session log undecodable."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from aft_tui.engine import events as ev
from aft_tui.engine.session_log import SessionLog
from aft_tui.ui.app import AftApp
from tests.engine.helpers import aft, aft_env

HOSTILE = "\x1b]0;pwned\x07\x1b[2J"  # retitles the terminal window, then clears the screen
CONTROLS = ("\x1b", "\x07", "\x9b", "\x9d", "\r", "\x08")
RUN = "20260101-000000-abc-t001"


def _hostile_recording(path: Path) -> Path:
    with SessionLog(path) as log:
        log.append(ev.SessionStarted(session_id="s" + HOSTILE, target="train.py" + HOSTILE, branch="aft/s" + HOSTILE))
        log.append(ev.UserMessage(text=f"hello {HOSTILE}[bold]user[/bold]"))
        log.append(ev.AssistantMessage(text=f"streamed {HOSTILE[:6]}", message_id="m1", final=False))
        log.append(ev.AssistantMessage(text=f"{HOSTILE[6:]} rest", message_id="m1", final=False))
        log.append(ev.AssistantMessage(text=f"streamed {HOSTILE} rest", message_id="m1", final=True))
        log.append(ev.Info(text=f"info {HOSTILE}\x9b2J\x9d0;x\x9c"))
        log.append(ev.Proposal(proposal_id="p1", proposal_kind="refactor", title=f"title {HOSTILE}",
                               rationale=f"why {HOSTILE}", diff=f"--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b {HOSTILE}\n"))
        log.append(ev.Decision(proposal_id="p1", approved=False, feedback=f"no {HOSTILE}"))
        log.append(ev.TrialStarted(run_id=RUN, number=1, params={"lr": 0.1, "opt": f"adam{HOSTILE}[bold]"},
                                   rationale=HOSTILE))
        log.append(ev.TrialLog(run_id=RUN, lines=[f"log {HOSTILE}[bold]x[/bold]", "progress 10%\rprogress 99%"]))
        log.append(ev.TrialFinished(run_id=RUN, number=1, status="failed", reason=f"crashed {HOSTILE}"))
        log.append(ev.ErrorEvent(message=f"error {HOSTILE}"))
        log.append(ev.SessionEnded(session_id="s", reason=HOSTILE))
    return path


def test_plain_replay_prints_no_escape_sequence_from_the_file(tmp_path: Path):
    path = _hostile_recording(tmp_path / "shared.jsonl")
    replay = subprocess.run([sys.executable, "-m", "aft_tui", "replay", "--plain", str(path)], cwd=tmp_path,
                            capture_output=True, timeout=120, env=aft_env())
    out = replay.stdout.decode("utf-8")
    assert replay.returncode == 0, replay.stderr
    assert [c for c in CONTROLS if c in out] == []
    for fragment in ("you> hello [bold]user[/bold]", "info \n", "Proposal p1 (refactor): title", "why",
                     "log [bold]x[/bold]", "progress 10%progress 99%", "Trial 1 failed", "crashed", "Error: error",
                     "streamed"):
        assert fragment in out, fragment


def test_plain_chat_prints_no_escape_sequence_it_was_given(quick_project: Path):
    lines = f"/theme dark{HOSTILE}[bold]x\n/rollback {HOSTILE}\n/quit\n".encode()
    chat = subprocess.run([sys.executable, "-m", "aft_tui", "chat", "--plain", "train.py"], cwd=quick_project,
                          input=lines, capture_output=True, timeout=120, env=aft_env())
    out = chat.stdout.decode("utf-8")
    assert chat.returncode == 0, chat.stderr
    assert "No theme 'dark" in out and "[bold]x" in out  # the reply quoted the name, markup and all
    assert [c for c in CONTROLS if c in out] == []


async def test_the_log_pane_draws_escape_sequences_and_markup_inert():
    app = AftApp(save_setting=lambda k, v: None)
    async with app.run_test(size=(120, 30)) as pilot:
        app.logs.show_run(RUN, [f"shown {HOSTILE}[bold]x[/bold]"], status="running")
        app.logs.feed(RUN, [f"fed {HOSTILE}[red]y[/red]\x9b2J"])
        app.logs.flush()
        await pilot.pause()
        assert app.logs.view.lines == ["shown [bold]x[/bold]", "fed [red]y[/red]"]
        drawn = "".join(segment.text for y in range(2) for segment in app.logs.view._render_line(y, 0, 120))
        assert [c for c in CONTROLS if c in drawn] == []
        assert "shown [bold]x[/bold]" in drawn and "fed [red]y[/red]" in drawn


def _chat_with_bytes(project: Path, data: bytes, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "aft_tui", "chat", "--plain", "train.py"], cwd=project, input=data,
                          capture_output=True, timeout=120, env=aft_env(**env))


def test_plain_chat_reads_input_that_is_not_utf8(quick_project: Path):
    data = b"/status\n\xff\xfe hello \xc3(\n/quit\n"
    # A UTF-8 locale reads stdin strictly; the C locale with surrogate escapes: both must work.
    for env in ({"LC_ALL": "C.UTF-8", "PYTHONUTF8": "0"}, {"LC_ALL": "C", "PYTHONIOENCODING": "utf-8:surrogateescape"}):
        chat = _chat_with_bytes(quick_project, data, **env)
        out, err = chat.stdout.decode("utf-8", "replace"), chat.stderr.decode("utf-8", "replace")
        assert chat.returncode == 0, out + err
        assert "Traceback" not in out + err and "codec" not in out + err and "internal error" not in err, out + err
        assert "Bye." in out and "Session ended (quit)" in out
    # What was typed is in the session log, readable, with the bad bytes replaced.
    logs = sorted((quick_project / ".aft" / "sessions").glob("*.jsonl"))
    assert len(logs) == 2
    for log in logs:
        said = [e["text"] for e in map(json.loads, log.read_text(encoding="utf-8").splitlines())
                if e["kind"] == "user_message"]
        assert said == ["\ufffd\ufffd hello \ufffd("], said


async def test_a_replayed_recording_draws_no_escape_sequence_anywhere_in_the_app(tmp_path: Path):
    from textual.geometry import Region

    from aft_tui.ui.replay import ReplayController

    path = _hostile_recording(tmp_path / "shared.jsonl")
    app = AftApp(replay=ReplayController.open(str(path)), autoplay=False, save_setting=lambda k, v: None)
    async with app.run_test(size=(200, 60)) as pilot:
        app.action_replay_jump(1)
        await pilot.pause(0.3)
        leaks = {}
        drawn = ""
        for widget in app.screen.walk_children():
            if not widget.display or not widget.size.area:
                continue
            text = "".join(segment.text for strip in widget.render_lines(Region(0, 0, *widget.size))
                           for segment in strip)
            drawn += text
            found = [c for c in CONTROLS if c in text]
            if found:
                leaks[f"{type(widget).__name__}#{widget.id}"] = found
        assert leaks == {}
        assert "hello [bold]user[/bold]" in drawn and "streamed" in drawn and "title" in drawn
        assert "opt=adam[bold]" in drawn  # markup in a recorded string stays text


def test_the_plain_chat_prompt_on_a_terminal_reads_input_that_is_not_utf8(quick_project: Path):
    """prompt-toolkit hands undecodable bytes on as surrogates, which no UTF-8 file can hold."""
    import os
    import pty
    import select
    import time

    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "aft_tui", "chat", "--plain", "train.py"], cwd=quick_project,
                            stdin=slave, stdout=slave, stderr=slave, env=aft_env(TERM="xterm"), close_fds=True)
    os.close(slave)
    out = b""

    def read_until(done, timeout: float = 60.0) -> None:
        nonlocal out
        deadline = time.monotonic() + timeout
        while not done(out) and time.monotonic() < deadline and proc.poll() is None:
            if select.select([master], [], [], 0.1)[0]:
                try:
                    out += os.read(master, 65536)
                except OSError:
                    break
        assert done(out), out.decode("utf-8", "replace")[-2000:]

    try:
        read_until(lambda text: text.count(b"aft>") >= 1)
        os.write(master, b"\xff\xfe hi\r")
        read_until(lambda text: b"did not recognise" in text and text.count(b"aft>") >= 3)
        os.write(master, b"/quit\r")
        read_until(lambda text: b"saved;" in text)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    text = out.decode("utf-8", "replace")
    assert "surrogates" not in text and "codec" not in text and "Traceback" not in text, text[-2000:]
    (log,) = (quick_project / ".aft" / "sessions").glob("*.jsonl")
    said = [e["text"] for e in map(json.loads, log.read_text(encoding="utf-8").splitlines())
            if e["kind"] == "user_message"]
    assert said == ["\ufffd\ufffd hi"]
