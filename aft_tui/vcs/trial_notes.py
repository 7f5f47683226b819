"""Every trial's git note and parameters file, read back in one pass over a repository.

A trial commit carries its parameters file (who chose what, the run id, the trial number) and a
note under `refs/notes/aft` with its result. Together they are a copy of the trial's record that
lives outside outputs/, which is what rebuilds outputs/results.json when that file is damaged.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aft_tui.vcs import gitcmd
from aft_tui.vcs.workspace import NOTES_REF, PARAMS_FILE


def _repositories(project: Path, state_dir: Path) -> list[tuple[Any, str]]:
    """(git runner, path prefix of the project inside it) for each repository AFT may have used."""
    found: list[tuple[Any, str]] = []
    private = state_dir / "repo"
    if (private / "HEAD").exists():
        found.append((gitcmd.make_git(private, {"GIT_DIR": str(private)}), ""))
    if project.is_dir():
        runner = gitcmd.make_git(project)
        status, text, _ = gitcmd.run(runner, ["rev-parse", "--show-toplevel", "--show-prefix"], check=False)
        lines = text.splitlines()
        if status == 0 and lines and lines[0].strip():
            prefix = lines[1].strip() if len(lines) > 1 else ""
            found.append((gitcmd.make_git(Path(lines[0].strip())), prefix))
    return found


def _cat_batch(runner: Any, names: list[str]) -> list[str | None]:
    """The contents of many git objects (`<sha>` or `<commit>:<path>`) with one process."""
    if not names:
        return []
    status, text, _ = gitcmd.run(runner, ["cat-file", "--batch"], stdin=("\n".join(names) + "\n").encode("utf-8"),
                                 check=False, keep_newline=True)
    if status != 0:
        return [None] * len(names)
    data = text.encode("utf-8")
    out: list[str | None] = []
    pos = 0
    for _ in names:
        end = data.find(b"\n", pos)
        if end < 0:
            break
        header = data[pos:end].split()
        pos = end + 1
        if len(header) != 3 or not header[2].isdigit():  # "<name> missing"
            out.append(None)
            continue
        size = int(header[2])
        out.append(data[pos:pos + size].decode("utf-8", errors="replace"))
        pos += size + 1
    return out + [None] * (len(names) - len(out))


def _object(text: str | None) -> dict[str, Any] | None:
    try:
        value = json.loads(text) if text else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def noted_trials(project: Path, state_dir: Path) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(commit, note, parameters file) of every trial commit with a readable note and parameters file."""
    trials: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
    for runner, prefix in _repositories(Path(project), Path(state_dir)):
        status, text, _ = gitcmd.run(runner, ["notes", f"--ref={NOTES_REF}", "list"], check=False)
        if status != 0:
            continue
        pairs = [line.split() for line in text.splitlines() if len(line.split()) == 2]
        names = [name for note, commit in pairs for name in (note, f"{commit}:{prefix}{PARAMS_FILE}")]
        contents = _cat_batch(runner, names)
        for i, (_, commit) in enumerate(pairs):
            note, params = _object(contents[2 * i]), _object(contents[2 * i + 1])
            if note is not None and params is not None:
                trials.append((commit, note, params))
    return trials
