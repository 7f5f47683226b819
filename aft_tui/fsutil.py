"""Small filesystem helpers: atomic writes so a crash never leaves a half-written file."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# mkstemp creates its file 0600; files AFT writes get the mode any other program's would (the
# umask's), so a teammate or a dashboard reading outputs/ is not locked out.
_FILE_MODE = 0o666 & ~_current_umask()


def atomic_write_text(path: Path, text: str, durable: bool = True) -> None:
    """Write `text` to `path` so readers see either the old or the new file, never a mix.

    `durable=False` skips the fsync: the replace is still atomic for every reader and survives
    the writer being killed, but not a power cut. Worth it for copies that can be rebuilt from
    a durable record, because one fsync costs milliseconds to tens of milliseconds per file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        if hasattr(os, "fchmod"):  # POSIX; elsewhere mkstemp's mode is all there is
            os.fchmod(fd, _FILE_MODE)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def atomic_write_json(path: Path, data: Any, durable: bool = True) -> None:
    atomic_write_text(path, json_text(data) + "\n", durable)


def json_text(data: Any) -> str:
    """The JSON text AFT writes to its files: indented, keys in insertion order."""
    return json.dumps(data, indent=2, sort_keys=False, default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "to_dict"):
        return value.to_dict()
    return repr(value)


def read_json(path: Path, default: Any = None) -> Any:
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except FileNotFoundError:
        return default
