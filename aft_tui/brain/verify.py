"""The static behaviour-preservation check, applied to a refactor written by a model.

The rule-based refactor records how each new flag replaced the original code; a model's edit
does not, so the bindings are read back from the edited source: every `add_argument` whose
destination is new, and every `<args>.<dest>` read of it. The shared equivalence check then
substitutes each default back and requires the original program.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class _Plan:
    bindings: list[Any] = field(default_factory=list)


def refactor_problems(original: str, updated: str) -> list[str]:
    """Why `updated` is not `original` with flags added (empty when the check passes)."""
    try:
        compile(updated, "<refactored>", "exec")
    except SyntaxError as exc:
        return [f"the edited script does not parse (line {exc.lineno}: {exc.msg})"]
    try:
        import libcst as cst

        from aft_tui.target.equivalence import check_static
        from aft_tui.target.flags import argument_dest, is_add_argument
        from aft_tui.target.refactor import FlagBinding
    except ImportError:  # the check ships with the refactor; without it only syntax is checked
        return []

    def dests(module: Any) -> dict[str, str]:
        found: dict[str, str] = {}

        class _Find(cst.CSTVisitor):
            def visit_Call(self, call: cst.Call) -> None:
                if is_add_argument(call):
                    dest, options = argument_dest(call)
                    if dest:
                        found[dest] = options[0] if options else dest

        module.visit(_Find())
        return found

    try:
        before, after = cst.parse_module(original), cst.parse_module(updated)
    except cst.ParserSyntaxError as exc:
        return [f"the script does not parse ({exc.message})"]
    added = {d: flag for d, flag in dests(after).items() if d not in dests(before)}
    readers: set[tuple[str, str]] = set()

    class _Reads(cst.CSTVisitor):
        def visit_Attribute(self, node: cst.Attribute) -> None:
            if isinstance(node.value, cst.Name) and node.attr.value in added:
                readers.add((node.value.value, node.attr.value))

    after.visit(_Reads())
    plan = _Plan([FlagBinding(dest=dest, flag=added[dest], args_name=name, mode="value", original="")
                  for name, dest in sorted(readers)])
    report = check_static(original, updated, plan)  # duck-typed: only `bindings` is read
    return list(report.problems)
