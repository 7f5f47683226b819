"""Checking values read back from AFT's JSON files against the dataclass fields they were written from.

The session log and the session state are files a person can edit, copy between machines, or
damage; a value of the wrong type (`"lines": 5`, `"created": "x"`) must be caught where the file
is read, as one clear problem with that record, not later as a crash inside a view.
"""

from __future__ import annotations

import math
import types
import typing
from dataclasses import fields
from typing import Any, Union

_HINTS: dict[type, dict[str, Any]] = {}


class FieldTypeError(ValueError):
    """A field holds a value of another type than the one AFT writes there."""

    def __init__(self, name: str, value: Any, hint: Any = Any) -> None:
        expected = "" if hint is Any else f" where AFT writes {_describe(hint)}"
        if isinstance(value, (list, dict)) and _kind(value) in expected:
            expected = " with an entry of the wrong type"
        super().__init__(f"field '{name}' holds {_kind(value)}{expected}")
        self.name = name


def field_hints(cls: type) -> dict[str, Any]:
    """A dataclass's fields and their resolved type hints, worked out once per class."""
    hints = _HINTS.get(cls)
    if hints is None:
        resolved = typing.get_type_hints(cls)
        hints = _HINTS[cls] = {f.name: resolved.get(f.name, Any) for f in fields(cls)}
    return hints


def typed_fields(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    """The entries of `data` that are fields of `cls`, checked against their types.

    Floats that JSON could only store as text ("nan", "inf") stay text, as the readers of the
    log expect; a whole number stored as 3.0 in an integer field comes back as 3. Raises
    FieldTypeError for the first field whose value cannot be what `cls` holds there.
    """
    out: dict[str, Any] = {}
    for name, hint in field_hints(cls).items():
        if name not in data:
            continue
        value = data[name]
        # NaN and infinities are stored as text where a value can be missing or is a measurement
        # (an objective, a metric); a plain float field (a time, a duration) is never one.
        if not fits(value, hint) or (hint is float and (isinstance(value, str) or not math.isfinite(value))):
            raise FieldTypeError(name, value, hint)
        if isinstance(value, float) and not _accepts(hint, float) and _accepts(hint, int):
            value = int(value)
        out[name] = value
    return out


def fits(value: Any, hint: Any) -> bool:
    """Whether a JSON value can stand for a field of type `hint`."""
    if hint is Any or hint is object:
        return True
    if hint is str:
        return isinstance(value, str)
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer())
    if hint is float:
        if isinstance(value, str):
            return _non_finite(value)
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is type(None):
        return value is None
    origin = typing.get_origin(hint)
    if origin is Union or origin is types.UnionType:
        return any(fits(value, arm) for arm in typing.get_args(hint))
    if origin is list:
        if not isinstance(value, list):
            return False
        args = typing.get_args(hint)
        if args and args[0] is str:  # log lines, by the hundred thousand in a replay
            return all(isinstance(v, str) for v in value)
        return not args or args[0] is Any or all(fits(v, args[0]) for v in value)
    if origin is dict:
        if not isinstance(value, dict):
            return False
        args = typing.get_args(hint)
        return len(args) < 2 or args[1] is Any or all(fits(v, args[1]) for v in value.values())
    return True  # a type this module does not know: not checked


def _accepts(hint: Any, simple: type) -> bool:
    if hint is simple:
        return True
    origin = typing.get_origin(hint)
    return (origin is Union or origin is types.UnionType) and simple in typing.get_args(hint)


def _non_finite(text: str) -> bool:
    """How the session log stores NaN and infinities (JSON has neither)."""
    try:
        return not math.isfinite(float(text))
    except ValueError:
        return False


def _describe(hint: Any) -> str:
    simple = {str: "text", int: "a whole number", float: "a number", bool: "true/false",
              type(None): "null"}
    if hint in simple:
        return simple[hint]
    origin = typing.get_origin(hint)
    if origin is Union or origin is types.UnionType:
        return " or ".join(_describe(arm) for arm in typing.get_args(hint))
    if origin is list:
        return "a list of text" if typing.get_args(hint) == (str,) else "a list"
    if origin is dict:
        return "an object"
    return getattr(hint, "__name__", str(hint))


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    names = {bool: "true/false", int: "a number", float: "a number", str: "text", list: "a list", dict: "an object"}
    return names.get(type(value), type(value).__name__)
