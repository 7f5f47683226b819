"""Default values as convention parsers see them: literals, None and tuples of literals.

Configurators and config trees take `literal_eval`-able values, so a tuple such as
`betas = (0.9, 0.95)` or a `None` placeholder is a real setting the person can override; it is
reported with its value even when it cannot be searched over. Help comes from the comment the
author wrote beside the value, the only documentation these conventions have.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import libcst as cst

from aft_tui.target.literals import literal_of


@dataclass(frozen=True)
class Value:
    """A default read from source: `type` is "int", "float", "bool", "str", "none" or "tuple"
    (a tuple or list of literals; `value` then holds its source text, the form a command line
    takes it back in)."""

    value: Any
    type: str
    code: str


def value_of(node: cst.BaseExpression | None, module: cst.Module) -> Value | None:
    """The value a default expression spells, or None when it is computed."""
    if node is None:
        return None
    lit = literal_of(node, module)
    if lit is not None:
        return Value(lit.value, lit.type, lit.code)
    code = module.code_for_node(node)
    if isinstance(node, cst.Name) and node.value == "None":
        return Value(None, "none", code)
    if isinstance(node, (cst.Tuple, cst.List)) and node.elements:
        if all(literal_of(el.value, module) is not None for el in node.elements):
            return Value(" ".join(code.split()), "tuple", code)
    return None


def param_type(value: Value) -> str:
    """The Param type of a default: tuples travel as their text, None as an untyped string."""
    return value.type if value.type in ("int", "float", "bool", "str") else "str"


def trailing_comment(statement: cst.CSTNode | None) -> str | None:
    """`C.weight_decay = 0.1 # only applied on matmul weights` -> the comment's text."""
    if not isinstance(statement, cst.SimpleStatementLine):
        return None
    comment = statement.trailing_whitespace.comment
    if comment is None:
        return None
    text = comment.value.lstrip("#").strip()
    return text or None


def line_comment(line: str) -> str | None:
    """The comment at the end of one YAML or Python source line (a `#` outside quotes)."""
    quote: str | None = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "#":
            text = line[i + 1 :].strip()
            return text or None
    return None
