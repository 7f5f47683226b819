"""Reading literal values out of libcst expressions.

AFT only lifts values it can restore byte for byte, so a "literal" here is a number, a bool or
a plain string written directly in the source; anything computed is reported, never lifted.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any

import libcst as cst


@dataclass(frozen=True)
class Literal:
    value: Any
    type: str  # "int" | "float" | "bool" | "str"
    code: str  # the exact source text, so a refactor can write it back unchanged


def literal_of(node: cst.BaseExpression, module: cst.Module) -> Literal | None:
    """The literal an expression spells, or None when it is computed (or None itself)."""
    value = _value(node)
    if value is _NOT_LITERAL:
        return None
    code = module.code_for_node(node)
    if isinstance(value, bool):
        return Literal(value, "bool", code)
    if isinstance(value, int):
        return Literal(value, "int", code)
    if isinstance(value, float):
        return Literal(value, "float", code)
    if isinstance(value, str):
        return Literal(value, "str", code)
    return None


_NOT_LITERAL = object()


def constant_expression_of(node: cst.BaseExpression, module: cst.Module) -> Literal | None:
    """A literal, or arithmetic on number literals only (`2**19`, `5 * 8`, `1e-3 / 4`), with its
    value worked out here. The whole expression is the site, so a refactor lifts it as written
    and the flag's default is that same expression."""
    lit = literal_of(node, module)
    if lit is not None:
        return lit
    value = _arithmetic(node)
    if value is _NOT_LITERAL or isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    code = module.code_for_node(node)
    return Literal(value, "int" if isinstance(value, int) else "float", code)


_OPERATORS = {
    cst.Add: lambda a, b: a + b,
    cst.Subtract: lambda a, b: a - b,
    cst.Multiply: lambda a, b: a * b,
    cst.Divide: lambda a, b: a / b,
    cst.FloorDivide: lambda a, b: a // b,
    cst.Modulo: lambda a, b: a % b,
    cst.Power: lambda a, b: a**b,
}


def _arithmetic(node: cst.BaseExpression) -> Any:
    if isinstance(node, cst.BinaryOperation):
        left, right = _arithmetic(node.left), _arithmetic(node.right)
        op = _OPERATORS.get(type(node.operator))
        if op is None or left is _NOT_LITERAL or right is _NOT_LITERAL:
            return _NOT_LITERAL
        if any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in (left, right)):
            return _NOT_LITERAL
        if isinstance(node.operator, cst.Power) and (abs(right) > 64 or abs(left) > 2**32):
            return _NOT_LITERAL  # keep evaluation cheap; no hyperparameter needs more
        try:
            return op(left, right)
        except (ArithmeticError, ValueError):
            return _NOT_LITERAL
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, (cst.Minus, cst.Plus)):
        inner = _arithmetic(node.expression)
        if inner is _NOT_LITERAL or isinstance(inner, bool) or not isinstance(inner, (int, float)):
            return _NOT_LITERAL
        return -inner if isinstance(node.operator, cst.Minus) else inner
    value = _value(node)
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else _NOT_LITERAL


def _value(node: cst.BaseExpression) -> Any:
    if isinstance(node, cst.Integer):
        return int(node.evaluated_value)
    if isinstance(node, cst.Float):
        return float(node.evaluated_value)
    if isinstance(node, cst.Name) and node.value in ("True", "False"):
        return node.value == "True"
    if isinstance(node, cst.SimpleString):
        prefix = node.prefix.lower()
        if "b" in prefix:
            return _NOT_LITERAL
        value = node.evaluated_value
        return value if isinstance(value, str) else _NOT_LITERAL
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, (cst.Minus, cst.Plus)):
        inner = _value(node.expression)
        if isinstance(inner, bool) or not isinstance(inner, (int, float)):
            return _NOT_LITERAL
        return -inner if isinstance(node.operator, cst.Minus) else inner
    return _NOT_LITERAL


def dotted_name(node: cst.BaseExpression) -> str | None:
    """`torch.optim.Adam` for an attribute chain of names; None for anything else."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        left = dotted_name(node.value)
        return f"{left}.{node.attr.value}" if left else None
    return None


def ast_dotted_name(node: ast.expr | None) -> str | None:
    """`dotted_name` for a node of the standard `ast` tree."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        left = ast_dotted_name(node.value)
        return f"{left}.{node.attr}" if left else None
    return None


def last_part(dotted: str | None) -> str:
    return (dotted or "").rsplit(".", 1)[-1]


def keyword_arg(call: cst.Call, name: str) -> cst.Arg | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg
    return None


def positional_args(call: cst.Call) -> list[cst.Arg]:
    return [a for a in call.args if a.keyword is None and not a.star]


def call_argument(call: cst.Call, name: str, position: int) -> cst.BaseExpression | None:
    """The value passed as keyword `name`, else as the positional argument at `position`."""
    found = keyword_arg(call, name)
    if found is not None:
        return found.value
    args = positional_args(call)
    return args[position].value if len(args) > position else None


def string_value(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.SimpleString) and "b" not in node.prefix.lower():
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    if isinstance(node, cst.ConcatenatedString):
        left = string_value(node.left)
        right = string_value(node.right)
        if left is not None and right is not None:
            return left + right
    return None


def compact(code: str, limit: int = 120) -> str:
    """One line of code for a report: whitespace runs collapsed, long calls shortened."""
    text = " ".join(code.split())
    text = text.replace("( ", "(").replace(" )", ")")
    return text if len(text) <= limit else text[: limit - 3] + "..."
