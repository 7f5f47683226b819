"""The results.json format: each record's text in an indented list, what counts as a record,
and reading the whole records back out of a damaged file.

Kept apart from `Outputs` (runs/outputs.py) (who writes the file, under which lock, and how it is repaired) so the
format can be read and tested on its own.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, NamedTuple

from aft_tui.fsutil import json_text, number


def file_identity(path: Path) -> tuple[int, ...]:
    info = os.stat(path)
    return info.st_dev, info.st_ino, info.st_mtime_ns, info.st_ctime_ns, info.st_size


def array_item(record: Any) -> str:
    """A record's text as an element of the indented results list."""
    return "  " + json_text(record).replace("\n", "\n  ")


def list_text(texts: list[str]) -> str:
    return "[\n" + ",\n".join(texts) + "\n]\n" if texts else "[]\n"


def is_record(item: Any) -> bool:
    """A trial record as results.json holds it: an object naming its run."""
    return isinstance(item, dict) and isinstance(item.get("run_id"), str) and bool(item["run_id"])


def records_problem(data: Any) -> str | None:
    """Why parsed results.json content is not a list of trial records, or None when it is."""
    if not isinstance(data, list):
        kind = ("an object" if isinstance(data, dict) else "text" if isinstance(data, str)
                else "null" if data is None else "true/false" if isinstance(data, bool) else "a number")
        return f"it holds {kind} instead of a list of records"
    for i, item in enumerate(data, start=1):
        if not is_record(item):
            return f"item {i} is not a trial record"
    return None


def salvage(raw: bytes) -> list[dict[str, Any]]:
    """The whole records a damaged results.json still holds (a torn tail, a stray item, a wrong shape)."""
    text = raw.decode("utf-8", errors="replace")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        data = None
    if data is not None:
        items = data if isinstance(data, list) else list(data.values()) if isinstance(data, dict) else []
        if isinstance(data, dict) and is_record(data):
            items = [data]
        return [item for item in items if is_record(item)]
    # Torn: read the list's elements one by one until the damage.
    decoder, found, pos = json.JSONDecoder(), [], text.find("[") + 1
    while 0 < pos < len(text):
        while pos < len(text) and text[pos] in " \t\r\n,":
            pos += 1
        try:
            item, pos = decoder.raw_decode(text, pos)
        except (ValueError, RecursionError):
            break
        if is_record(item):
            found.append(item)
    return found


def record_order(record: dict[str, Any]) -> tuple[float, str, float]:
    finished = number(record.get("finished_at"))
    trial = number(record.get("number"))
    return (finished if finished is not None and math.isfinite(finished) else math.inf,
            str(record.get("session") or ""), trial if trial is not None and math.isfinite(trial) else math.inf)


class Snapshot(NamedTuple):
    """results.json as this process last read or wrote it."""

    key: tuple[int, ...]  # the file's identity (see file_identity)
    records: list[dict[str, Any]]
    texts: list[str] | None  # each record's text in the file, when this process wrote it
    raw: bytes
    clean: bool  # strict JSON: new records may be appended to `raw` as it is


EMPTY = Snapshot((), [], [], b"", True)
