"""Reading a parameter's type out of its annotation.

Typed conventions (tyro, typer, jsonargparse, dataclasses) take the type from the annotation,
not from the default, so `start_e: float = 1` is a float and `opt: Literal["adam", "sgd"]` is a
choice; reading the annotation keeps AFT's value types the ones the script parses.
"""

from __future__ import annotations

from typing import Any

import libcst as cst

from aft_tui.target.literals import dotted_name, last_part, literal_of

_TYPE_NAMES = {"int": "int", "float": "float", "str": "str", "bool": "bool"}
_WRAPPERS = {"Optional", "Annotated", "Final", "Required", "NotRequired"}


def annotation_type(node: cst.BaseExpression | None, module: cst.Module) -> tuple[str | None, list[Any] | None]:
    """(type, choices) an annotation declares; (None, None) when it is not a scalar AFT can set."""
    if node is None:
        return None, None
    if isinstance(node, cst.Name):
        return _TYPE_NAMES.get(node.value), None
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.BitOr):
        for side in (node.left, node.right):
            if isinstance(side, cst.Name) and side.value == "None":
                continue
            found = annotation_type(side, module)
            if found[0] is not None:
                return found
        return None, None
    if isinstance(node, cst.Subscript):
        head = last_part(dotted_name(node.value))
        items = [el.slice.value for el in node.slice if isinstance(el.slice, cst.Index)]
        if head in _WRAPPERS and items:
            return annotation_type(items[0], module)
        if head == "Union":
            for item in items:
                if isinstance(item, cst.Name) and item.value == "None":
                    continue
                found = annotation_type(item, module)
                if found[0] is not None:
                    return found
            return None, None
        if head == "Literal" and items:
            values = [literal_of(item, module) for item in items]
            if all(v is not None for v in values):
                types = {v.type for v in values}  # type: ignore[union-attr]
                ptype = types.pop() if len(types) == 1 else "str"
                return ptype, [v.value for v in values]  # type: ignore[union-attr]
    return None, None


def annotated_extras(node: cst.BaseExpression | None) -> list[cst.BaseExpression]:
    """The metadata of `Annotated[T, meta...]` (where typer and tyro put their options)."""
    if isinstance(node, cst.Subscript) and last_part(dotted_name(node.value)) == "Annotated":
        items = [el.slice.value for el in node.slice if isinstance(el.slice, cst.Index)]
        return items[1:]
    return []


def coerce_default(ptype: str | None, value: Any) -> Any:
    """An int written for a float parameter (`start_e: float = 1`) is the float the script sees."""
    if ptype == "float" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value
