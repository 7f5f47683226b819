"""Metrics a script writes to files of its own: the Hugging Face Trainer's `trainer_state.json`
(its `log_history`), `eval_results.json` and `all_results.json`.

A Trainer run whose logging is quiet, or whose output is buried in progress bars, still leaves
these behind, so they are read once the trial ends. Only files written during the trial count: a
file left by an earlier run in the same output folder would report someone else's result.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from aft_tui.runs.metrics import MetricRecord, values_of_mapping

TRAINER_STATE = "trainer_state.json"
# A run's final numbers; all_results.json holds eval_results.json's and more, so it wins.
FINAL_RESULTS = ("all_results.json", "eval_results.json")
# Clock granularity of some filesystems: a file written in the trial's first instant is still new.
_MTIME_SLACK_S = 2.0
_OUTPUT_DIR_FLAGS = ("--output_dir", "--output-dir", "output_dir")


def output_dir_from_command(command: Sequence[str]) -> str | None:
    """The `--output_dir` a command passes (`--output_dir X`, `--output_dir=X`, `output_dir=X`)."""
    for i, arg in enumerate(command):
        for flag in _OUTPUT_DIR_FLAGS:
            if arg == flag and flag.startswith("--") and i + 1 < len(command):
                return command[i + 1]
            if arg.startswith(flag + "="):
                return arg[len(flag) + 1 :]
    return None


def search_dirs(run_dir: Path, cwd: Path, command: Sequence[str], output_dir: str | None = None) -> list[Path]:
    """Where a trial's result files may be: its run folder (AFT_RUN_DIR), the script's output
    folder when the command or discovery names it, the working directory and its direct subfolders
    (an output_dir set in the code, like `out/`); each once."""
    dirs = [run_dir]
    for named in (output_dir_from_command(command), output_dir):
        if named:
            path = Path(named)
            dirs.append(path if path.is_absolute() else cwd / path)
    dirs.append(cwd)
    try:
        dirs.extend(sorted(p for p in cwd.iterdir() if p.is_dir() and not p.name.startswith(".")))
    except OSError:
        pass
    seen: dict[Path, None] = {}
    for d in dirs:
        try:
            seen.setdefault(d.resolve(), None)
        except OSError:
            continue
    return list(seen)


def read_result_files(dirs: Iterable[Path], since: float) -> list[MetricRecord]:
    """Records from the result files in `dirs` written at or after `since` (a time.time()).

    The training curve comes from the newest `trainer_state.json` (the folder itself or its
    `checkpoint-*` subfolders), then the final results as one last record.
    """
    dirs = list(dirs)
    records: list[MetricRecord] = []
    state = _newest([p for d in dirs for p in (d / TRAINER_STATE, *d.glob(f"checkpoint-*/{TRAINER_STATE}"))], since)
    if state is not None:
        obj = _load(state)
        history = obj.get("log_history") if isinstance(obj, dict) else None
        for entry in history if isinstance(history, list) else []:
            record = _record(entry, state)
            if record is not None:
                records.append(record)
    for name in FINAL_RESULTS:
        final = _newest([d / name for d in dirs], since)
        if final is not None:
            record = _record(_load(final), final)
            if record is not None:
                records.append(record)
            break
    return records


def _newest(paths: list[Path], since: float) -> Path | None:
    best: tuple[float, Path] | None = None
    for path in paths:
        try:
            mtime = path.stat().st_mtime
        except OSError:
            continue
        if mtime + _MTIME_SLACK_S >= since and (best is None or mtime > best[0]):
            best = (mtime, path)
    return best[1] if best else None


def _load(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None  # being written, or not JSON: no metrics rather than a failed trial


def _record(obj: Any, path: Path) -> MetricRecord | None:
    if not isinstance(obj, dict):
        return None
    values, step, epoch = values_of_mapping(obj)
    if not values:
        return None
    return MetricRecord(values=values, step=step, epoch=epoch, source="results", raw=str(path))


__all__ = ["output_dir_from_command", "read_result_files", "search_dirs"]
