"""jsonargparse and LightningCLI: options read from signatures.

`CLI(main)` exposes main's parameters as `--lr`; `parser.add_class_arguments(Model, "model")`
and `add_function_arguments` expose a signature under a group (`--model.lr`); and
`LightningCLI(Model, DataModule)` exposes the LightningModule's `__init__` as `--model.*`, the
datamodule's as `--data.*` and the Trainer's as `--trainer.*`. jsonargparse keeps underscores
and takes `--model.lr=0.1` in one token, booleans written out (`--flag=true`).
"""

from __future__ import annotations

from typing import Any

import libcst as cst

from aft_tui.target.conventions.dataclass_fields import script_classes
from aft_tui.target.conventions.signature import SignatureParam, docstring_help, function_named, init_of, signature_params
from aft_tui.target.knobs import is_knob
from aft_tui.target.literals import dotted_name, keyword_arg, last_part, literal_of, positional_args, string_value
from aft_tui.target.params import Param
from aft_tui.target.script import Script

Skipped = tuple[str, str, str]

# Trainer options worth tuning from a LightningCLI command line, with the Trainer's defaults.
TRAINER_KNOBS: dict[str, tuple[str, Any, str]] = {
    "max_epochs": ("int", None, "Stop training once this number of epochs is reached (Lightning uses 1000 when unset)"),
    "gradient_clip_val": ("float", None, "The value at which to clip gradients"),
    "accumulate_grad_batches": ("int", 1, "Accumulates gradients over k batches before stepping the optimizer"),
}


def jsonargparse_params(script: Script) -> tuple[list[Param], list[Skipped]]:
    params: list[Param] = []
    skipped: list[Skipped] = []
    for call in script.find(cst.Call):
        qualified = script.qualified(dotted_name(call.func)) or ""
        args = positional_args(call)
        if qualified in ("jsonargparse.CLI", "jsonargparse.auto_cli") and args:
            _cli(script, call, args[0].value, params, skipped)
        elif qualified.endswith(".LightningCLI") or qualified == "LightningCLI":
            _lightning(script, call, params, skipped)
        elif isinstance(call.func, cst.Attribute) and call.func.attr.value in ("add_class_arguments", "add_function_arguments") and script.imports_module("jsonargparse") and args:
            key = keyword_arg(call, "nested_key")
            group = string_value(key.value) if key is not None else (string_value(args[1].value) if len(args) > 1 else None)
            _signature_of(script, args[0].value, group, params, skipped)
    return params, skipped


def _cli(script: Script, call: cst.Call, target: cst.BaseExpression, params: list[Param], skipped: list[Skipped]) -> None:
    if not isinstance(target, cst.Name):
        skipped.append(("CLI", script.loc(call), "CLI over several functions or classes: the subcommand comes first, which AFT does not choose yet"))
        return
    if target.value in script_classes(script):
        skipped.append((target.value, script.loc(call), "CLI over a class takes a method subcommand after its options, which AFT does not place yet"))
    _signature_of(script, target, None, params, skipped)


def _lightning(script: Script, call: cst.Call, params: list[Param], skipped: list[Skipped]) -> None:
    args = positional_args(call)
    for index, (keyword, group) in enumerate((("model_class", "model"), ("datamodule_class", "data"))):
        node = keyword_arg(call, keyword)
        target = node.value if node is not None else (args[index].value if len(args) > index else None)
        if target is not None:
            _signature_of(script, target, group, params, skipped)
    defaults = _trainer_defaults(script, call)
    for name, (ptype, default, help_text) in TRAINER_KNOBS.items():
        value = defaults.get(name, default)
        params.append(Param(name=f"trainer.{name}", type=ptype, default=value, source="jsonargparse",  # type: ignore[arg-type]
                            flag=f"--trainer.{name}", location=script.loc(call), help=help_text,
                            extra={"syntax": "equals", "tunable": True, "group": "trainer"}))


def _trainer_defaults(script: Script, call: cst.Call) -> dict[str, Any]:
    arg = keyword_arg(call, "trainer_defaults")
    out: dict[str, Any] = {}
    if arg is not None and isinstance(arg.value, cst.Dict):
        for el in arg.value.elements:
            if isinstance(el, cst.DictElement):
                key = string_value(el.key)
                lit = literal_of(el.value, script.module)
                if key and lit is not None:
                    out[key] = lit.value
    return out


def _signature_of(script: Script, target: cst.BaseExpression, group: str | None, params: list[Param], skipped: list[Skipped]) -> None:
    name = last_part(dotted_name(target))
    cls = script_classes(script).get(name)
    func = init_of(cls) if cls is not None else function_named(script, name)
    if func is None:
        return
    docs = docstring_help(cls) if cls is not None else {}
    for p in signature_params(script, func):
        if p.node.star:
            continue
        found = _param(script, p, group, docs.get(p.name))
        if isinstance(found, str):
            skipped.append((p.name, script.loc(p.node), found))
        else:
            params.append(found)


def _param(script: Script, p: SignatureParam, group: str | None, class_help: str | None) -> Param | str:
    if p.type is None:
        return "not a single number, string or bool: jsonargparse sets it, AFT does not tune it"
    dotted = f"{group}.{p.name}" if group else p.name
    extra: dict[str, Any] = {"syntax": "equals", "tunable": is_knob(p.name, p.type, p.default, p.choices, kind="option") and not p.required}
    if group:
        extra["group"] = group
    if p.required:
        extra["required"] = True
    if p.default_code:
        extra["default_code"] = p.default_code
    return Param(name=dotted, type=p.type, default=p.default, source="jsonargparse", flag=f"--{dotted}",  # type: ignore[arg-type]
                 choices=p.choices, location=script.loc(p.node), help=p.help or class_help, extra=extra)
