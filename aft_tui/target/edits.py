"""Applying SEARCH/REPLACE edits to a file, confining edits to the project, and rendering diffs.

An LLM (or a person) describes a change as blocks of "find this text, put that instead". Exact
matching comes first; a second pass tolerates re-indented or trailing-space differences, because
models often get indentation slightly wrong. When nothing matches, the error quotes the closest
lines in the file so the next attempt can be corrected.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from aft_tui.errors import UserError
from aft_tui.fsutil import atomic_write_text


@dataclass(frozen=True)
class EditBlock:
    search: str
    replace: str


class EditMatchError(UserError):
    """A SEARCH block matched nothing (or matched ambiguously); `closest` holds the nearest lines."""

    def __init__(self, message: str, closest: str = "") -> None:
        super().__init__(message)
        self.closest = closest


_BLOCK = re.compile(
    r"^<{5,9} SEARCH[^\n]*\n(?P<search>.*?)^={5,9}[ \t]*\n(?P<replace>.*?)^>{5,9} REPLACE[^\n]*$",
    re.DOTALL | re.MULTILINE,
)


def parse_edit_blocks(text: str) -> list[EditBlock]:
    """The SEARCH/REPLACE blocks in a reply, in order."""
    return [EditBlock(m.group("search"), m.group("replace")) for m in _BLOCK.finditer(text)]


def apply_edits(source: str, blocks: Iterable[EditBlock | tuple[str, str]], filename: str = "the file") -> str:
    """Apply each block in turn to `source`; the first block that cannot be placed raises."""
    text = source
    for number, block in enumerate(blocks, start=1):
        if not isinstance(block, EditBlock):
            block = EditBlock(*block)
        text = _apply_one(text, block, number, filename)
    return text


def _apply_one(text: str, block: EditBlock, number: int, filename: str) -> str:
    search, replace = block.search, block.replace
    if not search.strip():
        if not text.strip():
            return replace
        raise EditMatchError(f"Edit {number} has an empty SEARCH section: quote the lines of {filename} to change.")
    count = text.count(search)
    if count == 1:
        return text.replace(search, replace, 1)
    if count > 1:
        raise EditMatchError(
            f"Edit {number} matches {count} places in {filename}: include more surrounding lines so it matches once."
        )
    result = _apply_tolerant(text, search, replace)
    if result is not None:
        return result
    closest = closest_lines(text, search)
    hint = f" Did you mean:\n{closest}" if closest else ""
    raise EditMatchError(
        f"Edit {number}: its SEARCH text does not appear in {filename}; copy the lines exactly as they are.{hint}",
        closest,
    )


def _apply_tolerant(text: str, search: str, replace: str) -> str | None:
    """Match ignoring trailing spaces and a uniform change of indentation; re-indent the replacement."""
    lines = text.splitlines(keepends=True)
    wanted = search.splitlines()
    while wanted and not wanted[-1].strip():
        wanted.pop()
    while wanted and not wanted[0].strip():
        wanted.pop(0)
    if not wanted:
        return None
    matches = []
    for start in range(len(lines) - len(wanted) + 1):
        shift = _indent_shift(lines[start : start + len(wanted)], wanted)
        if shift is not None:
            matches.append((start, shift))
    if len(matches) != 1:
        return None
    start, (add, remove) = matches[0]
    new_lines = []
    for line in replace.splitlines():
        if line.strip():
            if remove and line.startswith(remove):
                line = line[len(remove) :]
            line = add + line
        new_lines.append(line)
    newline = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
    end = start + len(wanted)
    tail_newline = lines[end - 1].endswith(("\n", "\r"))
    replacement = newline.join(new_lines) + (newline if tail_newline and new_lines else "")
    return "".join(lines[:start]) + replacement + "".join(lines[end:])


def _indent_shift(actual: Sequence[str], wanted: Sequence[str]) -> tuple[str, str] | None:
    """(indent to add, indent to remove) that turns `wanted` into `actual`, or None."""
    shift: tuple[str, str] | None = None
    for have, want in zip(actual, wanted):
        have = have.rstrip("\r\n").rstrip()
        want = want.rstrip()
        if not want.strip():
            if have.strip():
                return None
            continue
        if have.strip() != want.strip():
            return None
        h_ind = have[: len(have) - len(have.lstrip())]
        w_ind = want[: len(want) - len(want.lstrip())]
        if h_ind.endswith(w_ind):
            current = (h_ind[: len(h_ind) - len(w_ind)], "")
        elif w_ind.endswith(h_ind):
            current = ("", w_ind[: len(w_ind) - len(h_ind)])
        else:
            return None
        if shift is None:
            shift = current
        elif shift != current:
            return None
    return shift or ("", "")


def closest_lines(text: str, search: str, context: int = 0) -> str:
    """The run of lines in `text` most similar to `search` (same length), for a "did you mean"."""
    lines = text.splitlines()
    wanted = [l for l in search.splitlines()]
    while wanted and not wanted[-1].strip():
        wanted.pop()
    if not lines or not wanted:
        return ""
    size = len(wanted)
    target = "\n".join(l.strip() for l in wanted)
    best, best_ratio = 0, -1.0
    for start in range(max(1, len(lines) - size + 1)):
        window = "\n".join(l.strip() for l in lines[start : start + size])
        ratio = difflib.SequenceMatcher(None, window, target, autojunk=False).ratio()
        if ratio > best_ratio:
            best, best_ratio = start, ratio
    if best_ratio < 0.3:
        return ""
    lo = max(0, best - context)
    return "\n".join(lines[lo : best + size + context])


def confine(path: Path | str, root: Path | str) -> Path:
    """`path` resolved (symlinks followed), refusing anything that lands outside `root`."""
    root_resolved = Path(root).resolve()
    candidate = Path(path)
    if not candidate.is_absolute():
        candidate = root_resolved / candidate
    resolved = candidate.resolve()
    try:
        resolved.relative_to(root_resolved)
    except ValueError:
        raise UserError(
            f"{path} resolves to {resolved}, outside the project {root_resolved}; AFT only edits files inside the project."
        ) from None
    return resolved


def unified_diff(original: str, new: str, name: str) -> str:
    """A git-style unified diff (`a/name`, `b/name`) between two versions of one file."""
    diff = difflib.unified_diff(
        original.splitlines(keepends=True),
        new.splitlines(keepends=True),
        fromfile=f"a/{name}",
        tofile=f"b/{name}",
    )
    out = []
    for line in diff:
        out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(out)


def write_text_atomic(path: Path, text: str) -> None:
    """Replace a script in one step, so a crash never leaves half of it; it keeps its mode (an
    executable stays executable) and its line endings as written."""
    atomic_write_text(path, text, durable=False, keep_mode=True)
