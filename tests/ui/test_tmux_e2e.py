"""`aft chat` in a real terminal (tmux): type /pipeline, approve with a key, watch the trials, quit.

The screen is read with `tmux capture-pane`, as a person would see it; afterwards the session
log and the git branch must tell the same story.
"""

from __future__ import annotations

import json
import re
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import git

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")]


class Tmux:
    def __init__(self, socket: Path) -> None:
        self.socket = str(socket)

    def __call__(self, *args: str) -> str:
        return subprocess.run(["tmux", "-S", self.socket, *args], check=True, capture_output=True, text=True).stdout

    def screen(self) -> str:
        return self("capture-pane", "-p", "-t", "aft")

    def type(self, text: str) -> None:
        self("send-keys", "-t", "aft", "-l", text)

    def key(self, *names: str) -> None:
        self("send-keys", "-t", "aft", *names)

    def wait_for(self, predicate, timeout: float, what: str) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if predicate(screen):
                return screen
            time.sleep(0.25)
        raise AssertionError(f"timed out waiting for {what}; the screen shows:\n{screen}")


def test_chat_pipeline_in_tmux(git_project, tmp_path):
    project = git_project("mlp_classifier.py")
    tmux = Tmux(tmp_path / "tmux.sock")
    env = {"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "TERM": "xterm-256color",
           "XDG_CONFIG_HOME": os.environ.get("XDG_CONFIG_HOME", str(tmp_path / "xdg")), "COLORTERM": "truecolor"}
    for key in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "PATH", "HOME"):
        if key in os.environ:
            env[key] = os.environ[key]
    # COLUMNS/LINES from the test process would override the real terminal's size.
    command = " ".join([
        "cd", shlex.quote(str(project)), "&&", "env", "-u", "COLUMNS", "-u", "LINES", *[f"{k}={shlex.quote(v)}" for k, v in env.items()],
        shlex.quote(sys.executable), "-m", "aft_tui", "chat", "mlp_classifier.py",
        "--metric", "val_acc", "--direction", "max", "--trials", "2", "; echo AFT_EXIT=$?; sleep 120",
    ])
    tmux("-f", "/dev/null", "new-session", "-d", "-s", "aft", "-x", "160", "-y", "48", command)
    try:
        first = tmux.wait_for(lambda s: "Type /pipeline" in s, 60, "the app to start")
        assert "Chat · F2" in first and "Runs · F6" in first  # 160x48: the grid of panes
        tmux.type("/pipeline")
        tmux.key("Enter")
        screen = tmux.wait_for(lambda s: "PENDING" in s, 90, "the refactor proposal")
        assert "refactor" in screen and "+++ b/mlp_classifier.py" in screen
        tmux.key("a")  # approve with a key: the diff pane took focus when the proposal arrived
        # The status bar shows progress; the busy mark goes when the pipeline returns.
        screen = tmux.wait_for(lambda s: "trial 2/2" in s and "⟳" not in s, 240, "the trials to finish")
        # The runs table: trial 1 with its parameters, trial 2 with what it changed.
        runs = [line for line in screen.splitlines() if re.search(r"│\s+[12]\s+(ok|pruned)\b", line)]
        assert len(runs) == 2 and "lr=" in runs[0] and re.search(r"[0-9a-f]{8}\s+\w+=", runs[1]), screen
        assert "best val_acc=" in screen
        tmux.type("/quit")  # after the decision the keyboard went back to the conversation
        tmux.key("Enter")
        final = tmux.wait_for(lambda s: "AFT_EXIT=" in s, 30, "aft to exit")
        assert "AFT_EXIT=0" in final
        assert "saved; resume with `aft chat --resume" in final
        assert "Traceback" not in final
    finally:
        subprocess.run(["tmux", "-S", tmux.socket, "kill-server"], capture_output=True)

    (log,) = (project / ".aft" / "sessions").glob("*.jsonl")
    events = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    kinds = [e["kind"] for e in events]
    proposal = next(e for e in events if e["kind"] == "proposal")
    decision = next(e for e in events if e["kind"] == "decision")
    assert proposal["proposal_kind"] == "refactor"
    assert decision["approved"] and decision["by"] == "user" and decision["proposal_id"] == proposal["proposal_id"]
    finished = [e for e in events if e["kind"] == "trial_finished"]
    assert [e["number"] for e in finished] == [1, 2]
    assert kinds[-1] == "session_ended"
    branch = f"aft/{log.stem}"
    subjects = git(project, "log", "--format=%s", f"main..{branch}").splitlines()
    assert any(s.startswith("refactor") for s in subjects), subjects
    assert sum(s.startswith("trial ") for s in subjects) == 2, subjects
    assert git(project, "rev-parse", "--abbrev-ref", "HEAD") == "main"  # the user's branch is untouched
