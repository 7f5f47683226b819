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
