"""Files between the driver and a node: shipped folders out (once per session, through the object
store), a finished trial's files back into its run folder and the worktree."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path
from typing import Any

from aft_tui.runs.cluster import bundle

_shipped: dict[Path, Any] = {}  # a shipped folder goes to the object store once per session


def ship_ref(ray: Any, local: Path) -> Any:
    if local not in _shipped:
        _shipped[local] = ray.put(bundle.pack_folder(local))
    return _shipped[local]


def unpack(data: bytes, run_dir: Path, worktree: Path) -> None:
    """Files from the node: `run/...` into the run folder, `code/...` into the worktree. Their times
    are set to now, so the artifact and result-file searches see them as this trial's."""
    if not data:
        return
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
        for member in tar.getmembers():
            if not member.isfile():
                continue
            top, _, rel = member.name.partition("/")
            base = run_dir if top == "run" else worktree if top == "code" else None
            if base is None or not rel:
                continue
            target = (base / rel).resolve()
            if base.resolve() not in target.parents:
                continue  # never outside the run folder or the worktree
            if target.is_symlink() or (top == "code" and through_link(base, rel)):
                continue  # a file the script wrote through a data link is already where the link points
            target.parent.mkdir(parents=True, exist_ok=True)
            source = tar.extractfile(member)
            if source is None:
                continue
            with open(target, "wb") as fh:
                fh.write(source.read())
            os.utime(target, None)


def through_link(base: Path, rel: str) -> bool:
    path = base
    for part in Path(rel).parts[:-1]:
        path = path / part
        if path.is_symlink():
            return True
    return False
