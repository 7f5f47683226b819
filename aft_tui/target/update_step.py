"""The learning rate written into a hand-rolled update step: `p.data -= 0.01 * p.grad`,
`w = w - 1e-3 * grad`, `param.data.add_(param.grad, alpha=-0.1)`.

Scripts that skip torch.optim still have a learning rate; it is the literal that scales the
gradient. For `alpha=-0.1` the site is the `0.1` under the minus, so the flag is a positive rate
and the sign stays in the code.
"""

from __future__ import annotations

import libcst as cst

from aft_tui.target.literals import Literal, keyword_arg, literal_of, positional_args
from aft_tui.target.params import Param
from aft_tui.target.script import Script


def update_step_params(script: Script) -> list[Param]:
    found: list[tuple[cst.BaseExpression, Literal, cst.CSTNode]] = []
    for aug in script.find(cst.AugAssign):
        if isinstance(aug.operator, cst.SubtractAssign):
            rate = _scaled_gradient(aug.value, script)
            if rate is not None:
                found.append((*rate, aug))
    for assign in script.find(cst.Assign):
        value = assign.value
        if (
            len(assign.targets) == 1
            and isinstance(value, cst.BinaryOperation)
            and isinstance(value.operator, cst.Subtract)
            and script.code(value.left) == script.code(assign.targets[0].target)
        ):
            rate = _scaled_gradient(value.right, script)
            if rate is not None:
                found.append((*rate, assign))
    for call in script.find(cst.Call):
        func = call.func
        if not (isinstance(func, cst.Attribute) and func.attr.value in ("add_", "sub_")):
            continue
        args = positional_args(call)
        if not args or not _is_gradient(args[0].value, script):
            continue
        alpha = keyword_arg(call, "alpha")
        if alpha is None:
            continue
        node = alpha.value
        negative = isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus)
        if (func.attr.value == "add_") != negative:
            continue  # add_ with a positive alpha climbs the gradient: not a descent step
        inner = node.expression if negative else node  # type: ignore[union-attr]
        lit = literal_of(inner, script.module)
        if lit is not None and lit.type in ("int", "float") and lit.value > 0:
            found.append((inner, lit, call))
    params: list[Param] = []
    for node, lit, where in found:
        line, col = script.pos(node)
        site = {"line": line, "col": col, "code": lit.code}
        same = next((p for p in params if p.extra["site"]["code"] == lit.code), None)
        if same is not None:
            same.extra.setdefault("sites", [dict(same.extra["site"], location=same.location)]).append(dict(site, location=script.loc(where)))
            continue
        params.append(
            Param(
                name="lr",
                type="float",
                default=float(lit.value),
                source="kwarg",
                location=script.loc(where),
                help=f"learning rate of the update step `{' '.join(script.code(where).split())[:50]}`",
                extra={"site": site, "prefix": "update", "tunable": True, "origin": "update_step"},
            )
        )
    return params


def _scaled_gradient(node: cst.BaseExpression, script: Script) -> tuple[cst.BaseExpression, Literal] | None:
    """(literal, its value) of `lit * grad` or `grad * lit`."""
    if not (isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Multiply)):
        return None
    for lit_node, other in ((node.left, node.right), (node.right, node.left)):
        lit = literal_of(lit_node, script.module)
        if lit is not None and lit.type in ("int", "float") and lit.value > 0 and _is_gradient(other, script):
            return lit_node, lit
    return None


def _is_gradient(node: cst.BaseExpression, script: Script) -> bool:
    if isinstance(node, cst.Attribute):
        return node.attr.value == "grad" or "grad" in node.attr.value.lower().split("_")
    if isinstance(node, cst.Name):
        return node.value.lower().startswith(("grad", "g_", "d_")) or node.value.lower().endswith("grad") or node.value in ("dw", "db", "gw", "gb")
    if isinstance(node, cst.Subscript):
        return _is_gradient(node.value, script)
    return False
