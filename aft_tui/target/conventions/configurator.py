"""nanoGPT-style exec'd configurators: globals, then `exec(open('configurator.py').read())`.

The exec'd file walks `sys.argv`, reads `--key=value` with `literal_eval` and overwrites the
global of that name (a bare argument is a config .py file exec'd the same way). So every plain
global assigned before the exec line is a setting, set as `--key=value`; values keep their exact
Python type because such configurators commonly assert the override's type equals the
default's.
"""

from __future__ import annotations

from pathlib import Path

import libcst as cst

from aft_tui.errors import UserError
from aft_tui.target.constants import module_assignments
from aft_tui.target.conventions.values import param_type, trailing_comment, value_of
from aft_tui.target.knobs import is_knob
from aft_tui.target.literals import compact, dotted_name, string_value
from aft_tui.target.params import Param
from aft_tui.target.script import Script
from aft_tui.target.source_text import read_source

Skipped = tuple[str, str, str]


def configurator_params(script: Script) -> tuple[list[Param], list[Skipped]]:
    """The globals an exec'd configurator lets the command line override."""
    found = _exec_site(script)
    if found is None:
        return [], []
    index, file_name = found
    configurator = script.path.parent / file_name
    if configurator.is_file() and not _parses_argv(configurator):
        return [], [(file_name, script.loc(script.module.body[index]), f"{file_name} is exec'd but does not read sys.argv")]
    before = {id(stmt) for stmt in script.module.body[:index]}
    latest: dict[str, tuple[cst.BaseExpression | None, cst.SimpleStatementLine]] = {}
    for name, value, stmt in module_assignments(script.module):
        if id(stmt) in before and not name.startswith("_"):
            latest[name] = (value, stmt)
    params: list[Param] = []
    skipped: list[Skipped] = []
    for name, (node, stmt) in latest.items():
        value = value_of(node, script.module)
        if value is None or value.type == "none":
            if node is not None and "globals()" not in script.code(node):
                skipped.append((name, script.loc(stmt), f"`{compact(script.code(node), 60)}` is not a literal the configurator can override"))
            continue
        ptype = param_type(value)
        extra = {
            "syntax": "equals",
            "bool_format": "python",
            "configurator": file_name,
            "tunable": value.type != "tuple" and is_knob(name, ptype, value.value, kind="exposed"),
        }
        if value.type == "tuple":
            extra["value_kind"] = "tuple"
        params.append(
            Param(
                name=name,
                type=ptype,  # type: ignore[arg-type]
                default=value.value,
                source="configurator",
                flag=f"--{name}",
                location=script.loc(stmt),
                help=trailing_comment(stmt),
                extra=extra,
            )
        )
    return params, skipped


def _exec_site(script: Script) -> tuple[int, str] | None:
    """(index in the module body, configurator file name) of a module-level exec of a .py file."""
    for index, stmt in enumerate(script.module.body):
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            call = small.value if isinstance(small, cst.Expr) else None
            if not isinstance(call, cst.Call) or dotted_name(call.func) != "exec" or not call.args:
                continue
            name = _py_file_in(call.args[0].value)
            if name:
                return index, name
    return None


def _py_file_in(node: cst.BaseExpression) -> str | None:
    """`open('configurator.py').read()` or `open(os.path.join(here, 'configurator.py')).read()`."""
    names: list[str] = []

    class _Strings(cst.CSTVisitor):
        def visit_SimpleString(self, string: cst.SimpleString) -> None:
            value = string_value(string)
            if value and value.endswith(".py"):
                names.append(value)

    node.visit(_Strings())
    return names[-1] if names else None


def _parses_argv(path: Path) -> bool:
    try:
        text = read_source(path)
    except (OSError, UserError):
        return False
    return "sys.argv" in text and ("literal_eval" in text or "'='" in text or '"="' in text)
