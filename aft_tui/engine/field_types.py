"""Checking values read back from AFT's JSON files against the dataclass fields they were written from.

The session log and the session state are files a person can edit, copy between machines, or
damage; a value of the wrong type (`"lines": 5`, `"created": "x"`) must be caught where the file
is read, as one clear problem with that record, not later as a crash inside a view.

A check is built once per type hint (a replay decodes events by the hundred thousand), so
checking a field costs about one call.
"""

from __future__ import annotations

import math
import types
import typing
from dataclasses import dataclass, fields
from typing import Any, Callable, Collection, Union

Check = Callable[[Any], bool]


class FieldTypeError(ValueError):
    """A field holds a value of another type than the one AFT writes there."""

    def __init__(self, name: str, value: Any, hint: Any = Any) -> None:
        expected = "" if hint is Any else f" where AFT writes {_describe(hint)}"
        if isinstance(value, (list, dict)) and _kind(value) in expected:
            expected = " with an entry of the wrong type"
        super().__init__(f"field '{name}' holds {_kind(value)}{expected}")
        self.name = name


@dataclass(frozen=True)
class _Field:
    name: str
    hint: Any
    check: Check | None  # None: any value
    numeric: bool  # the field can hold a float: NaN and infinities are looked for
    whole: bool  # an integer field (no float): 3.0 is read as 3


_FIELDS: dict[type, tuple[_Field, ...]] = {}
_HINTS: dict[type, dict[str, Any]] = {}


def field_hints(cls: type) -> dict[str, Any]:
    """A dataclass's fields and their resolved type hints, worked out once per class."""
    hints = _HINTS.get(cls)
    if hints is None:
        resolved = typing.get_type_hints(cls)
        hints = _HINTS[cls] = {f.name: resolved.get(f.name, Any) for f in fields(cls)}
    return hints


def _fields_of(cls: type) -> tuple[_Field, ...]:
    found = _FIELDS.get(cls)
    if found is None:
        found = _FIELDS[cls] = tuple(
            _Field(name, hint, check_for(hint), _accepts(hint, float), _accepts(hint, int) and not _accepts(hint, float))
            for name, hint in field_hints(cls).items())
    return found


def typed_fields(cls: type, data: dict[str, Any], measured: Collection[str] = ()) -> dict[str, Any]:
    """The entries of `data` that are fields of `cls`, checked against their types.

    Only the `measured` fields (an objective, a metric: what a diverged run makes NaN) may hold
    NaN or an infinity, which JSON can only store as text ("nan", "inf"): that text stays text,
    as the readers of the log expect. A time, a duration or a budget is always finite. A whole
    number stored as 3.0 in an integer field comes back as 3. Raises FieldTypeError for the first
    field whose value cannot be what `cls` holds there.
    """
    out: dict[str, Any] = {}
    for spec in _fields_of(cls):
        if spec.name not in data:
            continue
        value = data[spec.name]
        if spec.check is not None and not spec.check(value):
            raise FieldTypeError(spec.name, value, spec.hint)
        if spec.numeric and spec.name not in measured and _non_finite_number(value):
            raise FieldTypeError(spec.name, value, spec.hint)
        if spec.whole and type(value) is float:
            value = int(value)
        out[spec.name] = value
    return out


def fits(value: Any, hint: Any) -> bool:
    """Whether a JSON value can stand for a field of type `hint`."""
    check = check_for(hint)
    return check is None or check(value)


_CHECKS: dict[Any, Check | None] = {}


def check_for(hint: Any) -> Check | None:
    """A function telling whether a JSON value fits `hint` (None when any value does)."""
    try:
        return _CHECKS[hint]
    except KeyError:
        check = _CHECKS[hint] = _build(hint)
        return check
    except TypeError:  # an unhashable hint: built each time
        return _build(hint)


def _build(hint: Any) -> Check | None:
    if hint is Any or hint is object:
        return None
    if hint is str:
        return lambda v: type(v) is str
    if hint is bool:
        return lambda v: type(v) is bool
    if hint is int:
        return lambda v: type(v) is int or (type(v) is float and v.is_integer())
    if hint is float:
        return lambda v: type(v) in (int, float) or (type(v) is str and _non_finite(v))
    if hint is type(None):
        return lambda v: v is None
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is Union or origin is types.UnionType:
        arms = [check_for(arm) for arm in args]
        if any(arm is None for arm in arms):
            return None
        return lambda v: any(arm(v) for arm in arms)  # type: ignore[misc]
    if origin is list:
        item = check_for(args[0]) if args else None
        if item is None:
            return lambda v: type(v) is list
        return lambda v: type(v) is list and all(map(item, v))
    if origin is dict:
        value = check_for(args[1]) if len(args) == 2 else None
        if value is None:
            return lambda v: type(v) is dict
        return lambda v: type(v) is dict and all(map(value, v.values()))
    return None  # a type this module does not know: not checked


def _accepts(hint: Any, simple: type) -> bool:
    if hint is simple:
        return True
    origin = typing.get_origin(hint)
    return (origin is Union or origin is types.UnionType) and simple in typing.get_args(hint)


def _non_finite_number(value: Any) -> bool:
    if type(value) is float:
        return not math.isfinite(value)
    return type(value) is str and _non_finite(value)


def _non_finite(text: str) -> bool:
    """How the session log stores NaN and infinities (JSON has neither)."""
    try:
        return not math.isfinite(float(text))
    except ValueError:
        return False


def _describe(hint: Any) -> str:
    simple = {str: "text", int: "a whole number", float: "a number", bool: "true/false", type(None): "null"}
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
