"""tyro: `tyro.cli(Args)` over a dataclass, or `tyro.cli(main)` over a function.

tyro spells every field as a kebab-case flag (`--learning-rate 3e-4`; `use_underscores=True`
keeps `--learning_rate`), booleans as `--cuda` / `--no-cuda`, and a nested dataclass field as a
dotted group (`--optim.lr`). The help is the string literal written under each field.
"""

from __future__ import annotations

from typing import Any

import libcst as cst

from aft_tui.target.conventions.dataclass_fields import dataclass_fields, script_classes
from aft_tui.target.conventions.post_parse import pinned_after_parse
from aft_tui.target.conventions.signature import function_named, signature_params
from aft_tui.target.knobs import is_knob
from aft_tui.target.literals import dotted_name, keyword_arg, positional_args
from aft_tui.target.params import Param
from aft_tui.target.script import Script

Skipped = tuple[str, str, str]


def tyro_params(script: Script) -> tuple[list[Param], list[Skipped]]:
    params: list[Param] = []
    skipped: list[Skipped] = []
    for call in script.find(cst.Call):
        if script.qualified(dotted_name(call.func)) != "tyro.cli":
            continue
        args = positional_args(call)
        if not args or not isinstance(args[0].value, cst.Name):
            continue
        style = _Style(script, call)
        target = args[0].value.value
        pinned = pinned_after_parse(script, call)
        cls = script_classes(script).get(target)
        if cls is not None:
            _dataclass(script, cls, "", style, pinned, params, skipped, set())
        elif (func := function_named(script, target)) is not None:
            for p in signature_params(script, func):
                _add(script, p.name, p.name, p.type, p.default, p.help, p.choices, p.required, p.default_code,
                     script.loc(p.node), func.name.value, style, pinned, params, skipped)
    return params, skipped


class _Style:
    """How this tyro.cli call spells flags (its `use_underscores` and `config` arguments)."""

    def __init__(self, script: Script, call: cst.Call) -> None:
        under = keyword_arg(call, "use_underscores")
        self.underscores = under is not None and isinstance(under.value, cst.Name) and under.value.value == "True"
        self.flag_values = "FlagConversionOff" in script.code(call) or "FlagConversionOff" in script.text

    def flag(self, dotted: str) -> str:
        return "--" + (dotted if self.underscores else dotted.replace("_", "-"))

    def extra(self, ptype: str | None) -> dict[str, Any]:
        extra: dict[str, Any] = {"syntax": "space"}
        if ptype == "bool":
            if self.flag_values:
                extra["bool_format"] = "python"
            else:
                extra["bool_style"] = "pair"
        return extra


def _dataclass(script: Script, cls: cst.ClassDef, prefix: str, style: _Style, pinned: dict[str, str],
               params: list[Param], skipped: list[Skipped], seen: set[str]) -> None:
    if cls.name.value in seen:
        return
    seen = seen | {cls.name.value}
    classes = script_classes(script)
    for f in dataclass_fields(script, cls):
        dotted = f"{prefix}{f.name}"
        if f.nested is not None:
            _dataclass(script, classes[f.nested], dotted + ".", style, {}, params, skipped, seen)
            continue
        _add(script, dotted, dotted, f.type, f.default, f.help, f.choices, f.required, f.default_code,
             script.loc(f.statement), cls.name.value, style, pinned if not prefix else {}, params, skipped)


def _add(script: Script, name: str, dotted: str, ptype: str | None, default: Any, help_text: str | None,
         choices: list[Any] | None, required: bool, default_code: str | None, location: str, owner: str,
         style: _Style, pinned: dict[str, str], params: list[Param], skipped: list[Skipped]) -> None:
    if ptype is None:
        skipped.append((name, location, "not a single number, string or bool: tyro sets it, AFT does not tune it"))
        return
    extra = style.extra(ptype)
    extra["dataclass"] = owner
    extra["tunable"] = is_knob(name.rsplit(".", 1)[-1], ptype, default, choices, kind="option") and not required
    if required:
        extra["required"] = True
    if default_code:
        extra["default_code"] = default_code
    reason = pinned.get(name)
    if reason:
        extra["tunable"] = False
        extra["not_a_knob"] = reason
        skipped.append((name, location, reason))
    params.append(Param(name=name, type=ptype, default=default, source="tyro", flag=style.flag(dotted),  # type: ignore[arg-type]
                        choices=choices, location=location, help=help_text, extra=extra))
