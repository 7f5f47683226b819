"""`aft research` on a terminal without --yes: each code change is asked about on the terminal,
one question at a time, while numeric experiments go on. A real pseudo-terminal, a real run."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.engine.helpers import aft_env, script_project
from tests.engine.research.fixture_script import SCRIPT

pytest.importorskip("torch")


def test_code_changes_are_asked_one_at_a_time_on_the_terminal(tmp_path: Path):
    project = script_project(tmp_path, SCRIPT)
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "aft_tui", "research", "train.py", "--experiments", "7",
                             "--seed", "1", "--metric", "val_loss"], cwd=project, stdin=slave,
                            stdout=slave, stderr=slave, env=aft_env())
    os.close(slave)
    seen, questions, deadline = "", 0, time.monotonic() + 240
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if not ready:
                continue
            try:
                seen += os.read(master, 65536).decode("utf-8", "replace")
            except OSError:
                break
            while seen.count("[y]es / [n]o") > questions:
                questions += 1
                os.write(master, b"y\n")
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    assert proc.returncode == 0, seen[-3000:]
    assert questions >= 2  # the refactor, then at least one code experiment
    folder = next((project / "outputs" / "research").iterdir())
    experiments = json.loads((folder / "experiments.json").read_text())
    assert len(experiments) == 7 and any(e["kind"] == "code" for e in experiments)
