"""Defaults of a plain config dataclass: `@dataclass class Config: lr: float = 3e-4` used as
`Config()`.

When no CLI parses the dataclass, its defaults are hard-coded values like any constant. A
dataclass handed to a CLI parser (tyro, HfArgumentParser, TrlParser, simple_parsing, ...) is
already a set of flags and is left to the conventions that read it; a field the script sets
when it builds the instance (`Config(lr=1e-3)`) does not run with its default, so it is skipped.
"""

from __future__ import annotations

import libcst as cst

from aft_tui.target.knobs import is_knob
from aft_tui.target.literals import compact, constant_expression_of, dotted_name, keyword_arg, last_part, positional_args
from aft_tui.target.names import identifier, looks_like_hyperparameter, looks_like_tunable_string
from aft_tui.target.params import Param, literal_param
from aft_tui.target.script import Script

Skipped = tuple[str, str, str]

# Calls that turn a dataclass into command-line flags.
_CLI_PARSERS = frozenset({"cli", "HfArgumentParser", "TrlParser", "add_arguments", "parse", "wrap", "ArgumentParser", "CLI", "Fire"})


def dataclass_params(script: Script) -> tuple[list[Param], list[Skipped]]:
    params: list[Param] = []
    skipped: list[Skipped] = []
    parsed = _parsed_classes(script)
    for cls in script.find(cst.ClassDef):
        if not _is_dataclass(script, cls) or cls.name.value in parsed:
            continue
        builds = _instantiations(script, cls.name.value)
        if not builds:
            continue  # never built here: its defaults may not be what runs
        set_at_build = {a.keyword.value for call in builds for a in call.args if a.keyword is not None}
        if any(positional_args(call) or any(a.star for a in call.args) for call in builds):
            continue  # fields passed positionally or unpacked: which default survives is unclear
        for stmt in cls.body.body:
            if not isinstance(stmt, cst.SimpleStatementLine):
                continue
            for small in stmt.body:
                if not (isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name) and small.value is not None):
                    continue
                name = small.target.value
                value = _default_node(small.value)
                if value is None:
                    continue
                lit = constant_expression_of(value, script.module)
                if lit is None or (lit.type == "str" and not looks_like_tunable_string(name, lit.value)):
                    continue
                plumbing = not is_knob(name, lit.type, lit.value, kind="literal")
                if not (plumbing or looks_like_hyperparameter(name)):
                    continue
                loc = script.loc(stmt)
                if name in set_at_build:
                    skipped.append((name, loc, f"{cls.name.value}({name}=...) sets it where the config is built, so the default is not used"))
                    continue
                params.append(
                    literal_param(
                        script, value, lit.type, lit.value, lit.code,
                        name=identifier(name),
                        typed_by=name,
                        source="constant",
                        location=loc,
                        help=f"default of {cls.name.value}.{name} ({compact(lit.code, 30)})",
                        prefix=identifier(cls.name.value),
                        tunable=not plumbing,
                        lead={"dataclass": cls.name.value, "field": name},
                        tail={"origin": "dataclass_default"},
                    )
                )
    return params, skipped


def _default_node(value: cst.BaseExpression) -> cst.BaseExpression | None:
    """The default of `x: T = 3` or `x: T = field(default=3)`."""
    if isinstance(value, cst.Call) and last_part(dotted_name(value.func)) == "field":
        arg = keyword_arg(value, "default")
        return arg.value if arg is not None else None
    return value


def _is_dataclass(script: Script, cls: cst.ClassDef) -> bool:
    for deco in cls.decorators:
        node = deco.decorator.func if isinstance(deco.decorator, cst.Call) else deco.decorator
        if last_part(script.qualified(dotted_name(node))) == "dataclass":
            return True
    return False


def _instantiations(script: Script, name: str) -> list[cst.Call]:
    return [c for c in script.find(cst.Call) if isinstance(c.func, cst.Name) and c.func.value == name]


def _parsed_classes(script: Script) -> set[str]:
    """Names of classes that some CLI parser receives as an argument (directly or in a list)."""
    parsed: set[str] = set()
    for call in script.find(cst.Call):
        name = last_part(script.qualified(dotted_name(call.func)))
        qualified = script.qualified(dotted_name(call.func)) or ""
        if name not in _CLI_PARSERS and not qualified.split(".")[0] in ("tyro", "simple_parsing", "draccus", "pyrallis", "jsonargparse"):
            continue
        for arg in call.args:
            for node in _names_in(arg.value):
                parsed.add(node)
    for deco in script.find(cst.Decorator):
        qualified = script.qualified(dotted_name(deco.decorator.func if isinstance(deco.decorator, cst.Call) else deco.decorator)) or ""
        if qualified.split(".")[0] in ("draccus", "pyrallis", "tyro"):
            parsed.add("*")  # a wrapped main parses its annotated config: stay out of the way
    if "*" in parsed:
        parsed |= {c.name.value for c in script.find(cst.ClassDef)}
    return parsed


def _names_in(node: cst.BaseExpression) -> list[str]:
    if isinstance(node, cst.Name):
        return [node.value]
    if isinstance(node, (cst.List, cst.Tuple)):
        return [n for el in node.elements for n in _names_in(el.value)]
    return []
