"""absl flags: `flags.DEFINE_float("learning_rate", 0.01, "help")` and its siblings.

absl parses `--name=value` for every defined flag and `--name=true/false` for booleans (besides
`--name` / `--noname`), so each definition is a setting with its default, its help and, for
DEFINE_enum, its choices; `lower_bound`/`upper_bound` are the author's own range.
"""

from __future__ import annotations

from typing import Any

import libcst as cst

from aft_tui.target.knobs import is_knob
from aft_tui.target.literals import call_argument, dotted_name, keyword_arg, literal_of, string_value
from aft_tui.target.params import Param
from aft_tui.target.script import Script

Skipped = tuple[str, str, str]
_TYPES = {"float": "float", "integer": "int", "string": "str", "bool": "bool", "boolean": "bool", "enum": "str"}
_UNSUPPORTED = ("multi_", "list", "spaceseplist", "enum_class", "flag", "alias")


def absl_params(script: Script) -> tuple[list[Param], list[Skipped]]:
    """Every flag the script defines through absl."""
    params: list[Param] = []
    skipped: list[Skipped] = []
    seen: set[str] = set()
    for call in script.find(cst.Call):
        kind = _define_kind(script, call)
        if kind is None:
            continue
        name_node = call_argument(call, "name", 0)
        name = string_value(name_node) if name_node is not None else None
        if name is None or name in seen:
            continue
        seen.add(name)
        ptype = _TYPES.get(kind)
        if ptype is None or kind.startswith(_UNSUPPORTED):
            skipped.append((name, script.loc(call), f"DEFINE_{kind} takes a value AFT does not vary"))
            continue
        param = _param(script, call, name, kind, ptype)
        if param is None:
            skipped.append((name, script.loc(call), "its default is computed, not a literal"))
        else:
            params.append(param)
    return params, skipped


def _define_kind(script: Script, call: cst.Call) -> str | None:
    """"float" for `flags.DEFINE_float(...)` when `flags` is absl's (or TensorFlow's copy of it)."""
    qualified = script.qualified(dotted_name(call.func)) or ""
    module, _, function = qualified.rpartition(".")
    if not function.startswith("DEFINE_") or not (module == "absl.flags" or module.endswith(".flags")):
        return None
    return function[len("DEFINE_") :]


def _param(script: Script, call: cst.Call, name: str, kind: str, ptype: str) -> Param | None:
    default_node = call_argument(call, "default", 1)
    default: Any = None
    if default_node is not None and not (isinstance(default_node, cst.Name) and default_node.value == "None"):
        lit = literal_of(default_node, script.module)
        if lit is None:
            return None
        default = lit.value
    if ptype == "float" and isinstance(default, int) and not isinstance(default, bool):
        default = float(default)
    choices = None
    help_position = 2
    if kind == "enum":
        help_position = 3
        values = call_argument(call, "enum_values", 2)
        if isinstance(values, (cst.List, cst.Tuple)):
            choices = [string_value(el.value) for el in values.elements]
            choices = None if None in choices else choices
    help_node = call_argument(call, "help", help_position)
    extra: dict[str, Any] = {"syntax": "equals", "tunable": is_knob(name, ptype, default, choices, kind="exposed")}
    if default is None:
        extra["default_none"] = True
    low, high = _bound(script, call, "lower_bound"), _bound(script, call, "upper_bound")
    if low is None or high is None:
        low = high = None  # one bound alone is a validity check, not a search range
    return Param(
        name=name,
        type=ptype,  # type: ignore[arg-type]
        default=default,
        source="absl",
        flag=f"--{name}",
        choices=choices,
        location=script.loc(call),
        help=string_value(help_node) if help_node is not None else None,
        low=low,
        high=high,
        log=None,
        extra=extra,
    )


def _bound(script: Script, call: cst.Call, keyword: str) -> float | None:
    arg = keyword_arg(call, keyword)
    lit = literal_of(arg.value, script.module) if arg is not None else None
    return lit.value if lit is not None and lit.type in ("int", "float") else None
