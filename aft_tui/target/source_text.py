"""A Python source file's text, read and written the way Python itself reads it (PEP 263).

A script may declare its encoding in a coding line (`# -*- coding: latin-1 -*-`) and Python runs
it; AFT must read it with the same rule, and write a refactored version back in the encoding its
coding line names, or the file would no longer say what it contains. Line endings are kept as
they are (no newline translation), so lines AFT does not change stay byte-identical. A UTF-8
byte-order mark is kept in the text as U+FEFF, so writing the text back writes the mark again.

This module imports nothing heavy: target resolution reads scripts before any parser is loaded.
"""

from __future__ import annotations

import ast
import contextlib
import io
import tokenize
from pathlib import Path
from typing import Iterator

from aft_tui.errors import UserError


def read_source(path: str | Path) -> str:
    """The text of a Python file, decoded as Python decodes it; one sentence when it cannot be."""
    path = Path(path)
    return decode_source(path.read_bytes(), path.name)


def decode_source(data: bytes, name: str) -> str:
    """The bytes of a Python file (`name`, for messages) as text, decoded as Python decodes them."""
    encoding = _declared(data, name)
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise UserError(_undecodable(name, encoding, data, exc.start)) from None


def source_encoding(text: str) -> str:
    """The encoding that writing `text` to a .py file must use: the one its coding line names,
    else UTF-8 (a leading U+FEFF is written as the UTF-8 byte-order mark)."""
    head = "".join(text.splitlines(keepends=True)[:2])
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(head.encode("utf-8", "surrogatepass")).readline)
    except SyntaxError:  # a coding line naming no codec Python knows: Python would refuse the file too
        return "utf-8"
    return "utf-8" if encoding == "utf-8-sig" else encoding


def encode_source(text: str) -> bytes:
    """`text` as the bytes of a .py file, in the encoding its coding line names."""
    encoding = source_encoding(text)
    try:
        return text.encode(encoding)
    except UnicodeEncodeError as exc:
        bad = text[exc.start:exc.end]
        raise UserError(f"The new version of the script contains {bad!r}, which its coding line's encoding "
                        f"{encoding} cannot hold; save the script as UTF-8 (and drop the coding line) and try again.") from None


def check_syntax(text: str, name: str) -> None:
    """Compile with Python's own compiler: its messages are the ones people know."""
    fix = f"Fix the script so `python {name}` runs, then try again."
    try:
        compile(text, name, "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
    except SyntaxError as exc:
        where = f"{name}:{exc.lineno}" if exc.lineno else name
        snippet = (exc.text or "").strip()
        detail = f" (`{snippet}`)" if snippet else ""
        raise UserError(f"{where}: {exc.msg}{detail}. {fix}") from None
    except ValueError as exc:  # null bytes
        raise UserError(f"{name}: {exc}. {fix}") from None


def _declared(data: bytes, name: str) -> str:
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        if "missing encoding declaration" in str(exc.msg):  # no coding line and not UTF-8: said when decoding
            return "utf-8"
        raise UserError(f"{name} declares an encoding Python cannot use ({exc.msg}); fix its coding line "
                        "(e.g. `# -*- coding: latin-1 -*-`) or save it as UTF-8 without one.") from None
    # Keep the byte-order mark in the text (as U+FEFF): writing the text back then writes it again.
    return "utf-8" if encoding == "utf-8-sig" else encoding


def _undecodable(name: str, encoding: str, data: bytes, start: int) -> str:
    line = data.count(b"\n", 0, start) + 1
    if encoding == "utf-8":
        return (f"{name} is not UTF-8 text (line {line}) and has no coding line naming another encoding: save it "
                "as UTF-8, or add one such as `# -*- coding: latin-1 -*-` as its first line, and try again.")
    return (f"{name} is not valid {encoding} text (line {line}), the encoding its coding line names; fix the "
            "coding line or save the file in that encoding, and try again.")


@contextlib.contextmanager
def temporarily(path: Path, text: str) -> Iterator[None]:
    """Put `text` in a (worktree) file for a check, then restore what was there byte for byte;
    the text is written in the encoding its coding line names, as Python will read it."""
    original = path.read_bytes()
    path.write_bytes(encode_source(text))
    try:
        yield
    finally:
        path.write_bytes(original)
