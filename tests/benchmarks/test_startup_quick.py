"""Quick variant of benchmark 3: nothing heavy on the start-up paths, and no gross slowdown."""

from __future__ import annotations

import sys
from pathlib import Path

from benchmarks.common import TRIVIAL_SCRIPT, make_project, median
from benchmarks.startup import HELP_TARGET_S, _env, _time_command, chat_modules, import_times


def test_help_starts_fast_and_imports_nothing_heavy(tmp_path: Path):
    project = make_project(tmp_path, {"train.py": TRIVIAL_SCRIPT})
    env = _env(tmp_path / "pycache")
    argv = [sys.executable, "-m", "aft_tui", "--help"]
    _time_command(argv, project, env)  # bytecode into the scratch cache
    wall = median(_time_command(argv, project, env) for _ in range(3))
    imports = import_times(["-m", "aft_tui", "--help"], project, env)
    print(f"aft --help: {wall * 1000:.0f} ms, imports {imports['top'][:3]}")
    assert not imports["heavy"], imports["heavy"]
    assert wall < 5 * HELP_TARGET_S


def test_chat_first_screen_loads_no_heavy_module(tmp_path: Path):
    from benchmarks.startup import CHAT_HEAVY

    project = make_project(tmp_path, {"train.py": TRIVIAL_SCRIPT})
    loaded = chat_modules(project, _env(tmp_path / "pycache"))
    assert "textual" in loaded and "aft_tui" in loaded
    assert not set(loaded) & set(CHAT_HEAVY), sorted(set(loaded) & set(CHAT_HEAVY))
