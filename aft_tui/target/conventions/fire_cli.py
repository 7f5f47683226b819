"""python-fire: `fire.Fire(main)`, `fire.Fire(Trainer)`, `fire.Fire()`.

Fire turns a callable's keyword parameters into `--name=value` flags and `literal_eval`s each
value, so `--use_amp=False` is a bool and `--lr=0.1` a float. A class exposes its `__init__`'s
parameters (its methods become commands); `fire.Fire()` makes every module-level function a
command, and a command's flags only apply after the command word.
"""

from __future__ import annotations

import re
from typing import Any

import libcst as cst

from aft_tui.target.conventions.project_modules import ProjectModules
from aft_tui.target.conventions.values import value_of
from aft_tui.target.knobs import is_knob
from aft_tui.target.literals import dotted_name, last_part, positional_args
from aft_tui.target.params import Param
from aft_tui.target.script import Script

Skipped = tuple[str, str, str]
_TYPE_NAMES = {"int": "int", "float": "float", "bool": "bool", "str": "str"}


def fire_params(script: Script) -> tuple[list[Param], list[Skipped]]:
    """Keyword parameters of what the script hands to `fire.Fire`."""
    params: list[Param] = []
    skipped: list[Skipped] = []
    modules: ProjectModules | None = None
    for call in script.find(cst.Call):
        if script.qualified(dotted_name(call.func)) != "fire.Fire":
            continue
        args = positional_args(call)
        if not args:
            for stmt in script.module.body:
                if isinstance(stmt, cst.FunctionDef) and not stmt.name.value.startswith("_"):
                    _signature(script, script, stmt, stmt.name.value, params, skipped)
            continue
        target = dotted_name(args[0].value)
        if target is None:
            skipped.append(("fire.Fire", script.loc(call), "Fire is given something other than a function or class"))
            continue
        modules = modules or ProjectModules(script)
        found = modules.lookup(target)
        if found is None:
            skipped.append((target, script.loc(call), f"could not find where {target} is defined"))
        elif isinstance(found.node, cst.FunctionDef):
            _signature(script, found.script, found.node, None, params, skipped)
        else:
            init = _method(found.node, "__init__")
            if init is not None:
                _signature(script, found.script, init, None, params, skipped)
            for method in _public_methods(found.node):
                skipped.append((f"{target}.{method}", script.loc(call), f"method {method} is a command: its flags follow the word {method}"))
    return params, skipped


def _signature(script: Script, where: Script, func: cst.FunctionDef, command: str | None,
               params: list[Param], skipped: list[Skipped]) -> None:
    docs = _docstring_help(func)
    location = where.loc(func) if where is script else f"{where.name}:{where.line(func)}"
    for param in [*func.params.params, *func.params.kwonly_params]:
        name = param.name.value
        if name in ("self", "cls"):
            continue
        if param.default is None:
            skipped.append((name, location, "required, with no default to start from"))
            continue
        value = value_of(param.default, where.module)
        if value is None or value.type == "tuple":
            skipped.append((name, location, f"default `{where.code(param.default)}` is not a single literal"))
            continue
        annotated = _annotation_type(param.annotation.annotation) if param.annotation is not None else None
        ptype = annotated or (value.type if value.type != "none" else "str")
        default: Any = value.value
        if ptype == "float" and isinstance(default, int) and not isinstance(default, bool):
            default = float(default)
        extra: dict[str, Any] = {"syntax": "equals", "bool_format": "python"}
        extra["tunable"] = is_knob(name, ptype, default, kind="exposed")
        if value.type == "none":
            extra["default_none"] = True
        if command is not None:
            # `fire.Fire()`: the flag only reaches the function after its command word.
            extra["command"] = command
            extra["tunable"] = False
        params.append(
            Param(
                name=name,
                type=ptype,  # type: ignore[arg-type]
                default=default,
                source="fire",
                flag=f"--{name}",
                location=location,
                help=docs.get(name),
                extra=extra,
            )
        )


def _annotation_type(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.Name):
        return _TYPE_NAMES.get(node.value)
    if isinstance(node, cst.Subscript) and last_part(dotted_name(node.value)) == "Optional":
        inner = node.slice[0].slice
        return _annotation_type(inner.value) if isinstance(inner, cst.Index) else None
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.BitOr):
        return _annotation_type(node.left) or _annotation_type(node.right)
    return None


def _method(cls: cst.CSTNode, name: str) -> cst.FunctionDef | None:
    body = cls.body.body if isinstance(cls, cst.ClassDef) and isinstance(cls.body, cst.IndentedBlock) else []
    return next((s for s in body if isinstance(s, cst.FunctionDef) and s.name.value == name), None)


def _public_methods(cls: cst.CSTNode) -> list[str]:
    body = cls.body.body if isinstance(cls, cst.ClassDef) and isinstance(cls.body, cst.IndentedBlock) else []
    return [s.name.value for s in body if isinstance(s, cst.FunctionDef) and not s.name.value.startswith("_")]


def _docstring_help(func: cst.FunctionDef) -> dict[str, str]:
    """`lr: learning rate` / `lr (float): ...` / `:param lr: ...` lines of the docstring."""
    text = func.get_docstring() or ""
    found: dict[str, str] = {}
    for line in text.splitlines():
        match = re.match(r"\s*(?::param\s+)?(\w+)\s*(?:\([^)]*\))?:\s*(\S.*)", line)
        if match:
            found.setdefault(match.group(1), match.group(2).strip())
    return found
