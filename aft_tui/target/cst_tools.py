"""Adding and removing the last item of an argument or element list without disturbing the
formatting of the items around it.

libcst keeps each comma (and the whitespace after it) on the item before it, so appending an
item means moving the old last item's comma onto the new one; removing it reverses the move
exactly. The refactor and the equivalence check use the same pair, which is what makes
"remove what was added" restore the original tree.
"""

from __future__ import annotations

from typing import Sequence, TypeVar

import libcst as cst
from libcst import MaybeSentinel

Item = TypeVar("Item", cst.Arg, cst.Element)


def append_item(items: Sequence[Item], new: Item, opening: cst.BaseParenthesizableWhitespace | None) -> list[Item]:
    """`items + [new]`, laid out like the existing items (same line or one per line)."""
    items = list(items)
    if not items:
        return [new]
    last = items[-1]
    if len(items) >= 2:
        separator = items[-2].comma
        sep_ws = getattr(items[-2], "whitespace_after_arg", None)
    elif isinstance(opening, cst.ParenthesizedWhitespace):
        separator = cst.Comma(whitespace_after=opening)
        sep_ws = cst.SimpleWhitespace("")
    else:
        separator = MaybeSentinel.DEFAULT
        sep_ws = cst.SimpleWhitespace("")
    if isinstance(last, cst.Arg):
        moved = new.with_changes(comma=last.comma, whitespace_after_arg=last.whitespace_after_arg)
        previous = last.with_changes(comma=separator, whitespace_after_arg=sep_ws)
    else:
        moved = new.with_changes(comma=last.comma)
        previous = last.with_changes(comma=separator)
    return [*items[:-1], previous, moved]


def remove_item(items: Sequence[Item], index: int) -> list[Item]:
    """`items` without `items[index]`; removing the last item hands its comma back."""
    items = list(items)
    removed = items.pop(index)
    if index == len(items) and items:
        last = items[-1]
        if isinstance(last, cst.Arg):
            items[-1] = last.with_changes(comma=removed.comma, whitespace_after_arg=removed.whitespace_after_arg)  # type: ignore[union-attr]
        else:
            items[-1] = last.with_changes(comma=removed.comma)
    return items



def with_callback(call: cst.Call, instance: str) -> cst.Call:
    """`call` (a Trainer construction, a Keras `fit`) with `instance` added to its `callbacks=`:
    appended to a list written out, or after whatever a name or call holds, or as a new keyword."""
    new = cst.parse_expression(instance)
    existing = next((a for a in call.args if a.keyword is not None and a.keyword.value == "callbacks"), None)
    if existing is None:
        arg = cst.parse_expression(f"f(callbacks=[{instance}])").args[0]  # type: ignore[attr-defined]
        return call.with_changes(args=append_item(call.args, arg, call.whitespace_before_args))
    if isinstance(existing.value, cst.List):
        lst = existing.value
        value: cst.BaseExpression = lst.with_changes(elements=append_item(lst.elements, cst.Element(new), lst.lbracket.whitespace_after))
    else:  # a name, None, a call: whatever it holds, plus the new callback
        value = cst.parse_expression(f"[*({cst.Module([]).code_for_node(existing.value)} or []), {instance}]")
    new_arg = existing.with_changes(value=value)
    return call.with_changes(args=[new_arg if a is existing else a for a in call.args])
