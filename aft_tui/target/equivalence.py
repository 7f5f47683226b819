"""A static proof that a refactor changes nothing but what it says it adds.

The check undoes the refactor on its syntax tree: every `args.<dest>` of a lifted flag becomes
the flag's declared default again (or the constant it replaced), and the added code (the
parser, the `_aft` helpers, the metrics hook, the callback in `callbacks=[...]`) is removed.
What is left must be structurally identical to the original module, whitespace and comments
included. A changed default, a moved statement or an edited line all fail the comparison.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import libcst as cst

from aft_tui.target.cli_structure import local_cli_modules, may_read_command_line
from aft_tui.target.flags import argument_dest, is_add_argument
from aft_tui.target.hooks import PARSER, is_aft_name
from aft_tui.target.literals import dotted_name, keyword_arg
from aft_tui.target.script import parse_script
from aft_tui.target.undo import Undo


class PlanToCheck(Protocol):
    """What the proof reads of `refactor.RefactorPlan` (which calls it): path and `FlagBinding`s."""

    path: Path
    bindings: list[Any]


@dataclass
class EquivalenceReport:
    ok: bool
    problems: list[str] = field(default_factory=list)


def check_static(original: str, refactored: str, plan: PlanToCheck) -> EquivalenceReport:
    """Prove `refactored` is `original` plus AFT's additions; only `plan.bindings` is read, so a
    plan built for a hand- or model-written refactor can be checked the same way."""
    problems: list[str] = []
    try:
        before = cst.parse_module(original)
    except cst.ParserSyntaxError as exc:
        return EquivalenceReport(False, [f"the original script does not parse (line {exc.raw_line})"])
    try:
        after = cst.parse_module(refactored)
    except cst.ParserSyntaxError as exc:
        return EquivalenceReport(False, [f"the refactored script does not parse (line {exc.raw_line}: {exc.message})"])

    if _imports_aft(after):
        problems.append("the refactored script imports aft_tui; it must run on its own")

    declared = _declared_defaults(after)
    substitutions: dict[tuple[str, str], cst.BaseExpression] = {}
    fallbacks: set[tuple[str, str]] = set()
    for binding in plan.bindings:
        default = declared.get(binding.dest)
        if default is None:
            problems.append(f"{binding.flag} is not declared with a default in the refactored script")
            continue
        if binding.mode == "fallback":
            if not (isinstance(default, cst.Name) and default.value == "None"):
                problems.append(f"{binding.flag} must default to None (the original expression), not `{_code(default)}`")
            fallbacks.add((binding.args_name, binding.dest))
        elif binding.mode == "name":
            value = _constant_value(before, binding.constant or "")
            if value is None or not value.deep_equals(default):
                problems.append(
                    f"{binding.flag} defaults to `{_code(default)}` but {binding.constant} was "
                    f"`{_code(value) if value is not None else '?'}` in the original"
                )
            substitutions[(binding.args_name, binding.dest)] = cst.Name(binding.constant or "")
        else:
            if binding.original and not _same_expression(default, binding.original):
                problems.append(
                    f"{binding.flag} defaults to `{_code(default)}` but the original value was `{binding.original}`"
                )
            substitutions[(binding.args_name, binding.dest)] = default

    problems.extend(_own_parser_problems(after, refactored, plan))

    drop_imports = {name for name in ("argparse", "sys") if not _has_plain_import(before, name)}
    original_dests = set(_declared_defaults(before))
    added_dests = {b.dest for b in plan.bindings} - original_dests
    # A script AFT changed before (an earlier refactor, a time-budget check, a recipe) already
    # holds AFT's additions: they are left out of both sides, and finding them again is no problem.
    earlier = Undo({}, set(), set())
    before = before.visit(earlier)
    undo = Undo(substitutions, added_dests, drop_imports, fallbacks, known=earlier.removed)
    try:
        stripped = after.visit(undo)
    except Exception as exc:  # a malformed refactor can make removal itself impossible
        problems.append(f"the added code could not be removed cleanly ({exc})")
        return EquivalenceReport(False, problems)
    problems.extend(undo.problems)

    if not _without_top_blank_lines(stripped).deep_equals(_without_top_blank_lines(before)):
        problems.append(_first_difference(original, stripped.code))
    return EquivalenceReport(not problems, problems)


def _own_parser_problems(after: cst.Module, refactored: str, plan: PlanToCheck) -> list[str]:
    """AFT's own parser may declare only the lifted flags (any other would take a flag away from
    the script), and when it hands the rest of the command line on, it must do so before any
    statement that may read the command line runs, so that code sees only the script's flags."""
    problems: list[str] = []
    dests = {b.dest for b in plan.bindings}
    declared: list[str] = []

    class _Find(cst.CSTVisitor):
        def visit_Call(self, call: cst.Call) -> None:
            if dotted_name(call.func) == f"{PARSER}.add_argument":
                dest, options = argument_dest(call)
                if dest not in dests:
                    declared.append(next(iter(options), dest or "?"))

    after.visit(_Find())
    problems += [f"AFT's parser declares {flag}, which no lifted value reads; it would take that flag from the script" for flag in declared]

    body = list(after.body)
    known = [i for i, stmt in enumerate(body) if "parse_known_args" in _code(stmt) and PARSER in _code(stmt)]
    if not known:
        return problems
    handed = [i for i, stmt in enumerate(body) if _code(stmt).strip() == "sys.argv[1:] = _aft_rest"]
    if not handed or handed[0] < known[0]:
        problems.append("AFT's parser takes its flags off the command line but does not hand the rest back through sys.argv")
        return problems
    try:
        script = parse_script(plan.path, refactored)
    except Exception:  # already reported: the refactored script does not parse
        return problems
    local_cli = local_cli_modules(script)
    for index, stmt in enumerate(script.module.body[: handed[0]]):
        if _mentions_aft(stmt) or _is_added_import(stmt):
            continue
        if may_read_command_line(script, stmt, local_cli):
            problems.append(
                f"`{' '.join(_code(stmt).split())[:60]}` may read the command line before AFT's parser has taken its flags off it"
            )
            break
    return problems


def _mentions_aft(stmt: cst.CSTNode) -> bool:
    if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)) and is_aft_name(stmt.name.value):
        return True
    found = False

    class _Find(cst.CSTVisitor):
        def visit_Name(self, node: cst.Name) -> None:
            nonlocal found
            found = found or is_aft_name(node.value)

    if isinstance(stmt, cst.SimpleStatementLine):
        stmt.visit(_Find())
    return found


def _is_added_import(stmt: cst.CSTNode) -> bool:
    return isinstance(stmt, cst.SimpleStatementLine) and _code(stmt).strip() in ("import argparse", "import sys")


def _without_top_blank_lines(module: cst.Module) -> cst.Module:
    """Blank lines above the first statement change nothing a program does; a header inserted
    at the very top of a script leaves one behind after it is removed."""
    if all(line.comment is None for line in module.header):
        module = module.with_changes(header=())
    if not module.body:
        return module
    first = module.body[0]
    leading = getattr(first, "leading_lines", ())
    if leading and all(line.comment is None for line in leading):
        first = first.with_changes(leading_lines=())
    return module.with_changes(body=[first, *module.body[1:]])


def _declared_defaults(module: cst.Module) -> dict[str, cst.BaseExpression]:
    found: dict[str, cst.BaseExpression] = {}

    class _Find(cst.CSTVisitor):
        def visit_Call(self, call: cst.Call) -> None:
            if not is_add_argument(call):
                return
            dest, _ = argument_dest(call)
            default = keyword_arg(call, "default")
            if dest and default is not None:
                found[dest] = default.value

    module.visit(_Find())
    return found


def _constant_value(module: cst.Module, name: str) -> cst.BaseExpression | None:
    for stmt in module.body:
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            if isinstance(small, cst.Assign) and len(small.targets) == 1:
                target = small.targets[0].target
                if isinstance(target, cst.Name) and target.value == name:
                    return small.value
            if isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name) and small.target.value == name:
                return small.value
    return None


def _has_plain_import(module: cst.Module, name: str) -> bool:
    for stmt in module.body:
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if isinstance(small, cst.Import) and any(
                    a.asname is None and isinstance(a.name, cst.Name) and a.name.value == name for a in small.names
                ):
                    return True
    return False


def _imports_aft(module: cst.Module) -> bool:
    found = False

    class _Find(cst.CSTVisitor):
        def visit_Import(self, node: cst.Import) -> None:
            nonlocal found
            found = found or any(module.code_for_node(a.name).split(".")[0] == "aft_tui" for a in node.names)

        def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
            nonlocal found
            if node.module is not None:
                found = found or module.code_for_node(node.module).split(".")[0] == "aft_tui"

    module.visit(_Find())
    return found


def _same_expression(node: cst.BaseExpression, code: str) -> bool:
    try:
        return cst.parse_expression(code).deep_equals(node)
    except cst.ParserSyntaxError:
        return False


def _code(node: cst.CSTNode) -> str:
    return cst.Module(body=[]).code_for_node(node)


def _first_difference(original: str, stripped: str) -> str:
    a, b = original.splitlines(), stripped.splitlines()
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        was = a[i1].strip() if i1 < len(a) else "(end of file)"
        now = b[j1].strip() if j1 < len(b) else "(end of file)"
        if tag == "delete":
            return f"line {i1 + 1} of the original (`{was}`) is missing from the refactored script"
        if tag == "insert":
            return f"the refactored script adds `{now}` before line {i1 + 1} of the original"
        return f"line {i1 + 1} of the original (`{was}`) became `{now}`"
    return "the refactored script differs from the original in layout (whitespace or comments)"
