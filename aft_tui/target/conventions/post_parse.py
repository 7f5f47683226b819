"""Options a script overrides or pins right after parsing them.

cleanrl-style scripts keep derived quantities as dataclass fields (`batch_size`) and fill them
in after parsing, and pin unsupported settings with an assert. Such an option is on the command
line but setting it does nothing (or crashes), so it must not be tuned; the reason is reported.
"""

from __future__ import annotations

import re

import libcst as cst

from aft_tui.target.literals import compact, literal_of, string_value
from aft_tui.target.script import Script


def parsed_name(script: Script, call: cst.Call) -> str | None:
    """The variable the parse result is bound to: `args` in `args = tyro.cli(Args)`."""
    parent = script.parent(call)
    if isinstance(parent, cst.Assign) and len(parent.targets) == 1 and isinstance(parent.targets[0].target, cst.Name):
        return parent.targets[0].target.value
    return None


def pinned_after_parse(script: Script, call: cst.Call, var: str | None = None) -> dict[str, str]:
    """field -> why setting it has no effect, for `var.field = ...` and `assert var.field == x`."""
    var = var or parsed_name(script, call)
    if var is None:
        return {}
    scope = script.enclosing_function(call)
    start = script.pos(call)
    reasons: dict[str, str] = {}
    for node in script.find(cst.Assign, cst.Assert):
        if script.enclosing_function(node) is not scope or script.pos(node) < start:
            continue
        if isinstance(node, cst.Assign):
            for target in node.targets:
                field = _field_of(target.target, var)
                if field and field not in reasons:
                    reasons[field] = f"set from {_expression(script.code(node.value), var)} after parsing"
        else:
            _assertion(script, node, var, reasons)
    return reasons


def _assertion(script: Script, node: cst.Assert, var: str, reasons: dict[str, str]) -> None:
    test = node.test
    if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
        return
    comparison = test.comparisons[0]
    field = _field_of(test.left, var)
    if not field or not isinstance(comparison.operator, cst.Equal):
        return
    lit = literal_of(comparison.comparator, script.module)
    shown = lit.code if lit is not None else compact(script.code(comparison.comparator))
    message = string_value(node.msg) if node.msg is not None else None
    reasons.setdefault(field, f"asserted to be {shown} after parsing" + (f" ({message})" if message else ""))


def _field_of(node: cst.BaseExpression, var: str) -> str | None:
    if isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) and node.value.value == var:
        return node.attr.value
    return None


def _expression(code: str, var: str) -> str:
    text = compact(code)
    unwrapped = re.fullmatch(r"(?:int|float|round)\((.*)\)", text)
    if unwrapped:
        text = unwrapped.group(1)
    text = re.sub(rf"\b{re.escape(var)}\.", "", text)
    return text.replace(" * ", " × ")
