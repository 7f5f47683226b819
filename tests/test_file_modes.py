"""Files AFT writes atomically get the mode the umask gives, not mkstemp's private 0600."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest

WRITE = ("import sys; from pathlib import Path; from aft_tui.fsutil import atomic_write_json; "
         "atomic_write_json(Path(sys.argv[1]), {'value': 1.0})")


@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_result_files_follow_the_umask(tmp_path: Path, umask: int, mode: int):
    target = tmp_path / "results.json"
    code = f"import os; os.umask({umask}); " + WRITE
    subprocess.run([sys.executable, "-c", code, str(target)], check=True)
    assert stat.S_IMODE(target.stat().st_mode) == mode
    assert target.read_text().strip().startswith("{")


@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o077, 0o600)])
def test_every_atomic_writer_follows_the_umask(tmp_path: Path, umask: int, mode: int):
    # The worktree's files and a GPU recording are written through the same temporary file.
    code = (f"import os, sys; os.umask({umask}); from pathlib import Path; "
            "from aft_tui.fsutil import atomic_write_bytes; "
            "from aft_tui.telemetry.recording import write_recording; "
            "atomic_write_bytes(Path(sys.argv[1]) / 'aft_params.json', b'{}', durable=False, keep_mode=True); "
            "write_recording(Path(sys.argv[1]) / 'gpus.jsonl', [])")
    subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=True)
    for name in ("aft_params.json", "gpus.jsonl"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == mode


def test_a_replaced_file_keeps_its_mode_when_asked(tmp_path: Path):
    from aft_tui.fsutil import atomic_write_bytes

    script = tmp_path / "train.py"
    script.write_text("old\n")
    script.chmod(0o750)
    atomic_write_bytes(script, b"new\n", keep_mode=True)
    assert stat.S_IMODE(script.stat().st_mode) == 0o750
    assert script.read_bytes() == b"new\n"
