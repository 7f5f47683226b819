"""typer: `typer.run(main)` or a one-command `typer.Typer()` app.

Every parameter of the command with a default is an option spelled in kebab case (`lr` ->
`--lr`, `batch_size` -> `--batch-size`); booleans get `--flag/--no-flag`. `typer.Option(...)`,
either as the default or inside `Annotated[...]`, may rename the option and gives the help.
Parameters without a default (and `typer.Argument`) are positional inputs, not knobs.
"""

from __future__ import annotations

from typing import Any

import libcst as cst

from aft_tui.target.conventions.annotations import annotated_extras, coerce_default
from aft_tui.target.conventions.option_decls import option_decls
from aft_tui.target.conventions.signature import SignatureParam, function_named, signature_params
from aft_tui.target.knobs import is_knob
from aft_tui.target.literals import dotted_name, keyword_arg, last_part, literal_of, positional_args, string_value
from aft_tui.target.params import Param
from aft_tui.target.script import Script

Skipped = tuple[str, str, str]


def typer_params(script: Script) -> tuple[list[Param], list[Skipped]]:
    if not script.imports_module("typer"):
        return [], []
    commands = _commands(script)
    if len(commands) > 1:
        names = ", ".join(c.name.value for c in commands)
        return [], [(names, script.loc(commands[0]), "a typer app with several commands: the command to run comes first on the command line, which AFT does not choose yet")]
    params: list[Param] = []
    skipped: list[Skipped] = []
    for func in commands:
        for p in signature_params(script, func):
            found = _param(script, p)
            if isinstance(found, Param):
                params.append(found)
            elif found:
                skipped.append((p.name, script.loc(p.node), found))
    return params, skipped


def _commands(script: Script) -> list[cst.FunctionDef]:
    found: list[cst.FunctionDef] = []
    for call in script.find(cst.Call):
        if script.qualified(dotted_name(call.func)) == "typer.run" and call.args and isinstance(call.args[0].value, cst.Name):
            func = function_named(script, call.args[0].value.value)
            if func is not None and func not in found:
                found.append(func)
    for func in script.find(cst.FunctionDef):
        for dec in func.decorators:
            node = dec.decorator.func if isinstance(dec.decorator, cst.Call) else dec.decorator
            if isinstance(node, cst.Attribute) and node.attr.value == "command" and not (script.qualified(dotted_name(node)) or "").startswith("click."):
                if func not in found:
                    found.append(func)
    return found


def _param(script: Script, p: SignatureParam) -> Param | str | None:
    annotation = p.node.annotation.annotation if p.node.annotation is not None else None
    option = next((m for m in annotated_extras(annotation) if isinstance(m, cst.Call)), None)
    default_node = p.node.default
    decls_args: list[cst.Arg] = []
    default: Any = p.default
    required = p.required
    if isinstance(default_node, cst.Call) and last_part(dotted_name(default_node.func)) in ("Option", "Argument"):
        option = default_node
        positional = positional_args(option)
        default_value = keyword_arg(option, "default")
        first = default_value.value if default_value is not None else (positional[0].value if positional else None)
        decls_args = positional[1:] if default_value is None else positional
        lit = literal_of(first, script.module) if first is not None else None
        default = coerce_default(p.type, lit.value) if lit is not None else None
        required = first is None or isinstance(first, cst.Ellipsis)
    elif option is not None:
        decls_args = positional_args(option)
    if option is not None and last_part(dotted_name(option.func)) == "Argument":
        return "a positional argument is an input, not a knob"
    if option is None and p.required:
        return "a positional argument is an input, not a knob"
    if p.type is None:
        return "not a single number, string or bool: typer sets it, AFT does not tune it"
    decls = option_decls([s for s in (string_value(a.value) for a in decls_args) if s is not None], p.name)
    assert decls is not None
    extra: dict[str, Any] = {"syntax": "space"}
    flag = decls.flag if decls_args else "--" + p.name.replace("_", "-")
    if p.type == "bool":
        if decls.off is not None and not decls.standard_pair:
            return f"its off switch {decls.off} is not {flag}'s --no- form, which AFT cannot write yet"
        if decls_args and decls.off is None:
            extra["action"] = "store_false" if default else "store_true"
        else:
            extra["bool_style"] = "pair"
    help_arg = keyword_arg(option, "help") if option is not None else None
    extra["tunable"] = is_knob(p.name, p.type, default, p.choices, kind="option") and not required
    if required:
        extra["required"] = True
    return Param(name=p.name, type=p.type, default=default, source="typer", flag=flag, choices=p.choices,  # type: ignore[arg-type]
                 location=script.loc(p.node), help=string_value(help_arg.value) if help_arg else p.help, extra=extra)
