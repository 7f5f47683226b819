"""The static behaviour-preservation check, applied to a refactor written by a model.

The rule-based refactor records how each new flag replaced the original code; a model's edit
does not, so the bindings are read back from the edited source: every `add_argument` whose
destination is new, and every `<args>.<dest>` read of it. The shared equivalence check then
substitutes each default back and requires the original program.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any


@dataclass
class AddedFlag:
    dest: str
    flag: str
    type: str  # float | int | str | bool
    default: Any


@dataclass
class _Plan:
    bindings: list[Any] = field(default_factory=list)


def added_flags(original: str, updated: str) -> list[AddedFlag]:
    """The argparse flags `updated` declares that `original` did not."""
    def declared(source: str) -> dict[str, AddedFlag]:
        found: dict[str, AddedFlag] = {}
        try:
            tree = ast.parse(source)
        except SyntaxError:
            return found
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "add_argument"):
                continue
            options = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            keywords = {k.arg: k.value for k in node.keywords if k.arg}
            dest_node = keywords.get("dest")
            longs = [o for o in options if o.startswith("--")]
            dest = (dest_node.value if isinstance(dest_node, ast.Constant) else
                    (longs or options or [""])[0].lstrip("-").replace("-", "_"))
            if not dest:
                continue
            try:
                default = ast.literal_eval(keywords["default"]) if "default" in keywords else None
            except ValueError:
                default = None
            kind = keywords.get("type")
            type_name = kind.id if isinstance(kind, ast.Name) and kind.id in ("int", "float", "str") else \
                ("bool" if kind is not None else type(default).__name__ if default is not None else "str")
            found[dest] = AddedFlag(dest, (longs or options or [f"--{dest}"])[0], type_name, default)
        return found

    before = declared(original)
    return [flag for dest, flag in declared(updated).items() if dest not in before]


def derived_bindings(original: str, updated: str) -> list[Any]:
    """`FlagBinding`s for the new flags, read from where `updated` uses them."""
    from aft_tui.target.refactor_plan import FlagBinding

    flags = {f.dest: f for f in added_flags(original, updated)}
    readers: set[tuple[str, str]] = set()
    for node in ast.walk(ast.parse(updated)):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.attr in flags:
            readers.add((node.value.id, node.attr))
    return [FlagBinding(dest=dest, flag=flags[dest].flag, args_name=name, mode="value", original="")
            for name, dest in sorted(readers)]


def refactor_problems(original: str, updated: str) -> list[str]:
    """Why `updated` is not `original` with flags added (empty when the check passes)."""
    try:
        compile(updated, "<refactored>", "exec")
    except SyntaxError as exc:
        return [f"the edited script does not parse (line {exc.lineno}: {exc.msg})"]
    try:
        from aft_tui.target.equivalence import check_static
    except ImportError:  # pragma: no cover - the check ships with the refactor; without it only syntax is checked
        return []
    report = check_static(original, updated, _Plan(derived_bindings(original, updated)))  # reads only `bindings`
    return list(report.problems)
