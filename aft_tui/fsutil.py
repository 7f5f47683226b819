"""Small filesystem helpers: atomic writes so a crash never leaves a half-written file."""

from __future__ import annotations

import json
import math
import os
import stat
import tempfile
import time
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import IO, Any, Callable


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# mkstemp creates its file 0600; files AFT writes get the mode any other program's would (the
# umask's), so a teammate or a dashboard reading outputs/ is not locked out.
_FILE_MODE = 0o666 & ~_current_umask()


def temp_beside(path: Path, mode: int | None = None) -> tuple[IO[bytes], str]:
    """A new temporary file in `path`'s folder (so `os.replace` onto `path` is atomic), open for
    writing in binary, with `mode` or the mode the umask gives a new file: what every atomic
    write of AFT starts from, so none of them leaves a file only its owner can read."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, _FILE_MODE if mode is None else mode)
        else:  # mkstemp's mode is all there is; chmod by name sets what Windows keeps (read-only)
            os.chmod(tmp, _FILE_MODE if mode is None else mode)
        return os.fdopen(fd, "wb"), tmp
    except BaseException:
        os.close(fd)
        os.unlink(tmp)
        raise


def atomic_write_bytes(path: Path, data: bytes, durable: bool = True, keep_mode: bool = False) -> None:
    """Write `data` to `path` so readers see either the old or the new file, never a mix.

    `durable=False` skips the fsync: the replace is still atomic for every reader and survives
    the writer being killed, but not a power cut. Worth it for copies that can be rebuilt from
    a durable record, because one fsync costs milliseconds to tens of milliseconds per file.
    `keep_mode` keeps the permissions of the file being replaced (a person's script stays
    executable); a new file, or any file without it, gets the mode the umask gives.
    """
    path = Path(path)
    mode = None
    if keep_mode:
        try:
            info = os.stat(path)
            if stat.S_ISREG(info.st_mode):
                mode = stat.S_IMODE(info.st_mode)
        except (FileNotFoundError, NotADirectoryError):
            pass
    fh, tmp = temp_beside(path, mode)
    try:
        with fh:
            fh.write(data)
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


def atomic_write_text(path: Path, text: str, durable: bool = True, keep_mode: bool = False) -> None:
    """`atomic_write_bytes` of `text` in UTF-8, its line endings as given."""
    atomic_write_bytes(path, text.encode("utf-8"), durable, keep_mode)


def atomic_write_json(path: Path, data: Any, durable: bool = True) -> None:
    atomic_write_text(path, json_text(data) + "\n", durable)


# JSON has no NaN or infinity. Every JSON file AFT writes (results.json, result.json,
# metadata.json, aft_params.json, the session state, the git notes, the session log) spells a
# non-finite number as the string Python prints for it, so strict parsers read the files and the
# value still says what happened (a loss that became "nan" diverged; a null would say nothing).
NON_FINITE_SPELLINGS: dict[str, float] = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def json_safe(value: Any) -> Any:
    """`value` with every non-finite float replaced by its spelling ("nan", "inf", "-inf").

    Containers are copied (tuples become lists, as json would write them); anything else json
    cannot write goes through the same conversion as `json_text`.
    """
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, (str, int)) or value is None:
        return value
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if is_dataclass(value) and not isinstance(value, type):  # field by field: no deep copy first
        return {f.name: json_safe(getattr(value, f.name)) for f in fields(value)}
    return json_safe(_json_default(value))


def json_text(data: Any) -> str:
    """The JSON text AFT writes to its files: indented, keys in insertion order, strict JSON.

    Non-finite floats are written as their spellings (see NON_FINITE_SPELLINGS), never as the bare
    `NaN`/`Infinity` Python's json module emits by default. The copy that replaces them is made
    only when the fast, strict dump finds one.
    """
    try:
        return json.dumps(data, indent=2, sort_keys=False, default=_json_default, allow_nan=False)
    except ValueError:
        return json.dumps(json_safe(data), indent=2, sort_keys=False, default=_json_default, allow_nan=False)


def number(value: Any) -> float | None:
    """A number as AFT's files hold it: an int or float, or a non-finite one's spelling; else None.

    Readers of records use this so that a diverged trial's "nan" reads as NaN, not as text.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        return NON_FINITE_SPELLINGS.get(value.strip().lower())
    return None


def _json_default(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "to_dict"):
        return value.to_dict()
    return repr(value)


class CorruptJSON(ValueError):
    """A JSON file AFT reads is not JSON (torn, binary, truncated); `why` says how, briefly."""

    def __init__(self, path: Path, why: str) -> None:
        super().__init__(f"{path} is not valid JSON ({why})")
        self.path = Path(path)
        self.why = why


def read_json(path: Path, default: Any = None) -> Any:
    """The parsed file, `default` when it does not exist; CorruptJSON when it cannot be parsed."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except FileNotFoundError:
        return default
    return parse_json_bytes(raw, path)


def parse_json_bytes(raw: bytes, path: Path, parse_constant: Callable[[str], Any] | None = None) -> Any:
    """Parse a file's bytes, naming the file and the problem in one short phrase when it fails.

    `parse_constant` is json's hook for a bare NaN/Infinity (files written before they were spelled).
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CorruptJSON(path, f"byte {exc.start} is not UTF-8 text") from None
    try:
        return json.loads(text, parse_constant=parse_constant)
    except json.JSONDecodeError as exc:
        raise CorruptJSON(path, f"{exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise CorruptJSON(path, "nested too deeply") from None


def keep_aside(path: Path) -> Path:
    """Rename a corrupt file to `<name>.corrupt-<time>` next to it, so nothing in it is lost."""
    path = Path(path)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    aside = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while os.path.lexists(aside):
        n += 1
        aside = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
    os.replace(path, aside)
    return aside
