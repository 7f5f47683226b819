"""click: `@click.option("--lr", default=1e-3, type=float, help=...)` on a command.

click spells each option as declared: a value option takes `--lr 0.1`, `is_flag=True` is a bare
switch, `--shout/--no-shout` is a pair, and `click.Choice([...])` / `click.IntRange(a, b)` carry
the allowed values.
"""

from __future__ import annotations

from typing import Any

import libcst as cst

from aft_tui.target.conventions.option_decls import OptionDecls, option_decls
from aft_tui.target.knobs import is_knob
from aft_tui.target.literals import dotted_name, keyword_arg, last_part, literal_of, positional_args, string_value
from aft_tui.target.params import Param
from aft_tui.target.script import Script

Skipped = tuple[str, str, str]
_TYPES = {"int": "int", "float": "float", "str": "str", "bool": "bool", "INT": "int", "FLOAT": "float", "STRING": "str", "BOOL": "bool"}


def click_params(script: Script) -> tuple[list[Param], list[Skipped]]:
    params: list[Param] = []
    skipped: list[Skipped] = []
    for call in script.find(cst.Call):
        if script.qualified(dotted_name(call.func)) != "click.option" or not isinstance(script.parent(call), cst.Decorator):
            continue
        decls = option_decls([s for s in (string_value(a.value) for a in positional_args(call)) if s is not None])
        if decls is None:
            continue
        found = _option(script, call, decls)
        if isinstance(found, str):
            skipped.append((decls.name, script.loc(call), found))
        else:
            params.append(found)
    return params, skipped


def _option(script: Script, call: cst.Call, decls: OptionDecls) -> Param | str:
    for many in ("multiple", "nargs", "count"):
        arg = keyword_arg(call, many)
        if arg is not None and script.code(arg.value) not in ("False", "1"):
            return f"a {many} option holds several values; AFT tunes single values"
    default_arg = keyword_arg(call, "default")
    lit = literal_of(default_arg.value, script.module) if default_arg is not None else None
    default: Any = lit.value if lit is not None else None
    ptype, choices, low, high = _type(script, keyword_arg(call, "type"))
    is_flag = _true(keyword_arg(call, "is_flag"))
    extra: dict[str, Any] = {"syntax": "space"}
    if is_flag or decls.off is not None:
        ptype = "bool"
        default = bool(default)
    ptype = ptype or (lit.type if lit is not None else "str")
    if ptype == "float" and isinstance(default, int) and not isinstance(default, bool):
        default = float(default)
    if ptype == "bool":
        if decls.off is not None:
            if not decls.standard_pair:
                return f"its off switch {decls.off} is not {decls.flag}'s --no- form, which AFT cannot write yet"
            extra["bool_style"] = "pair"
        elif is_flag:
            extra["action"] = "store_false" if default else "store_true"
    required = _true(keyword_arg(call, "required"))
    extra["tunable"] = is_knob(decls.name, ptype, default, choices, kind="option") and not required
    if required:
        extra["required"] = True
    help_arg = keyword_arg(call, "help")
    return Param(name=decls.name, type=ptype, default=default, source="click", flag=decls.flag, choices=choices,  # type: ignore[arg-type]
                 location=script.loc(call), help=string_value(help_arg.value) if help_arg else None,
                 low=low, high=high, extra=extra)


def _type(script: Script, arg: cst.Arg | None) -> tuple[str | None, list[Any] | None, float | None, float | None]:
    if arg is None:
        return None, None, None, None
    node = arg.value
    name = last_part(dotted_name(node.func if isinstance(node, cst.Call) else node))
    if not isinstance(node, cst.Call):
        return _TYPES.get(name), None, None, None
    args = [a.value for a in node.args if a.keyword is None]
    if name == "Choice" and args and isinstance(args[0], (cst.List, cst.Tuple)):
        values = [literal_of(el.value, script.module) for el in args[0].elements]
        if all(v is not None for v in values):
            return "str", [v.value for v in values], None, None  # type: ignore[union-attr]
    if name in ("IntRange", "FloatRange"):
        bounds = [literal_of(a, script.module) for a in args[:2]]
        for key, index in (("min", 0), ("max", 1)):
            kw = keyword_arg(node, key)
            if kw is not None:
                while len(bounds) <= index:
                    bounds.append(None)
                bounds[index] = literal_of(kw.value, script.module)
        low, high = (bounds + [None, None])[:2]
        ptype = "int" if name == "IntRange" else "float"
        return ptype, None, (low.value if low else None), (high.value if high else None)
    return None, None, None, None


def _true(arg: cst.Arg | None) -> bool:
    return arg is not None and isinstance(arg.value, cst.Name) and arg.value.value == "True"
