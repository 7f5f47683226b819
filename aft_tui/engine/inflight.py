"""Trials in flight: one small file per trial, from its commit until its record is written.

A trial is committed and tagged before it runs and recorded in outputs/ after. A session killed
in between leaves a commit and a tag that no record names, and possibly the script still
running. The file bridges that gap: it holds what the record needs (number, parameters,
commit, tag, command, start) and, once the script runs, its process (see
`runs/orphans.record_process`). A resume reads the files its session left behind, stops what
still runs and records each trial as cancelled (`engine/tuner/setup.recover_interrupted`).

The files live in `.aft/running/<run-id>.json`, beside the session state rather than in the
person's outputs folder.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import Any

from aft_tui.fsutil import atomic_write_json, read_json


def path_for(state_dir: Path, run_id: str) -> Path:
    return Path(state_dir) / "running" / f"{run_id}.json"


def mark(state_dir: Path, note: dict[str, Any]) -> Path:
    """Write the in-flight file of the trial `note` describes (it must name its run_id)."""
    path = path_for(state_dir, str(note["run_id"]))
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(path, note, durable=False)  # it only has to outlive AFT's process, not the machine
    return path


def clear(path: Path) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def left_behind(state_dir: Path, session_id: str) -> list[tuple[Path, dict[str, Any]]]:
    """The in-flight files of `session_id`, oldest trial first (others' sessions are theirs)."""
    folder = Path(state_dir) / "running"
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.glob("*.json")):
        try:
            data = read_json(path)
        except (OSError, ValueError):  # torn by a crash of its own: nothing usable in it
            continue
        if (isinstance(data, dict) and data.get("session") == session_id and isinstance(data.get("run_id"), str)
                and isinstance(data.get("number"), int)):
            found.append((path, data))
    return sorted(found, key=lambda item: item[1]["number"])


def stop_leftovers(state_dir: Path, session_id: str) -> list[str]:
    """Stop every trial a killed run of this session left running, before a resume runs anything.

    Called when the session reopens (whatever runs first: a smoke run, a repair, trials), so no
    run of the resumed session ever trains beside a leftover. The file stays, marked with when
    it was stopped: the tuner records the trial from it (setup.recover_interrupted). Returns a
    sentence for each trial stopped (this runs in a worker thread; the caller tells the views).
    """
    from aft_tui.runs.orphans import is_running, stop_recorded

    said = []
    for _path, note in left_behind(state_dir, session_id):
        if is_running(note.get("aft_pid"), note.get("aft_started")):
            continue  # the AFT that runs it is alive (this session open twice): its trial, not a leftover
        if isinstance(note.get("cluster"), dict):
            from aft_tui.runs.cluster.leftovers import stop_remote

            sentence = stop_remote(note)
            if sentence:
                said.append(sentence)
                mark(state_dir, {**note, "stopped_at": time.time()})
            continue
        stopped = stop_recorded(note)
        if stopped is None:
            continue
        said.append(f"Trial {note['number']} ({note['run_id']}) was still running from the session that was killed "
                     f"(process group {stopped.pgid}); it was stopped, and it runs again.")
        mark(state_dir, {**note, "stopped_at": time.time()})
    return said
