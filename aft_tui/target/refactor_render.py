"""Applying a refactor's edits to the libcst tree: nodes replaced or wrapped, statements added
around others, and one block (added imports, helpers, AFT's parser) after the script's imports.

Working on the tree keeps comments and formatting, and every line no edit touches stays
byte-identical.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from aft_tui.target import hooks
from aft_tui.target.cli_structure import cli_statement_index
from aft_tui.target.cst_tools import append_item
from aft_tui.target.literals import keyword_arg
from aft_tui.target.script import Script


@dataclass(eq=False)
class Edits:
    """What the refactor changes, keyed by the original tree's nodes."""

    replace: dict[cst.CSTNode, cst.BaseExpression] = field(default_factory=dict)
    wrap: dict[cst.CSTNode, tuple[str, str]] = field(default_factory=dict)  # node -> (args name, dest) of a fallback flag
    before: dict[cst.CSTNode, list[cst.BaseStatement]] = field(default_factory=dict)
    after: dict[cst.CSTNode, list[cst.BaseStatement]] = field(default_factory=dict)
    callback_calls: set[cst.Call] = field(default_factory=set)
    header: list[cst.BaseStatement] = field(default_factory=list)  # helper defs, placed after the imports
    header_imports: list[str] = field(default_factory=list)
    header_parser: list[str] = field(default_factory=list)
    pass_through: bool = False


def render(script: Script, edits: Edits) -> str:
    """The script's new source: the planned edits applied to its tree, the rest byte-identical."""
    header = _header_statements(script, edits)
    tail: list[cst.BaseStatement] = []
    if header:
        index = _header_index(script, edits)
        if index == 0 and hasattr(header[0], "leading_lines"):
            # At the very top of the file: no blank line above the first added statement.
            header[0] = header[0].with_changes(leading_lines=())
        if index < len(script.module.body):
            edits.before.setdefault(script.module.body[index], [])[:0] = header
        else:
            tail = header
    rewriter = _Rewriter(edits, tail)
    return script.module.visit(rewriter).code


def _header_statements(script: Script, edits: Edits) -> list[cst.BaseStatement]:
    """Added imports, then helper definitions, then the parser: one block after the imports."""
    header = [hooks.statement(code, script.module) for code in sorted(edits.header_imports, key=_import_order)]
    header.extend(edits.header)
    for i, code in enumerate(edits.header_parser):
        blank = (2 if edits.header else 1) if i == 0 else 0
        header.append(hooks.statement(code, script.module, blank_lines=blank))
    if header and not header[0].leading_lines:
        header[0] = header[0].with_changes(leading_lines=[cst.EmptyLine()])
    return header


def _header_index(script: Script, edits: Edits) -> int:
    """After the leading imports, and before the first statement the refactor touches."""
    touched = [*edits.replace, *edits.wrap, *edits.after, *edits.callback_calls]
    indices = [script.top_level_index(n) for n in touched]
    first_use = min([i for i in indices if i is not None], default=len(script.module.body))
    index = 0
    for i, stmt in enumerate(script.module.body[:first_use]):
        if _is_import(stmt) or (i == 0 and _is_docstring(stmt)):
            index = i + 1
    index = min(index, first_use)
    if edits.header_parser and edits.pass_through:
        # AFT's flags come off sys.argv before anything that may read it runs.
        cli = cli_statement_index(script)
        if cli is not None:
            index = min(index, cli)
    return index


class _Rewriter(cst.CSTTransformer):
    def __init__(self, edits: Edits, tail: list[cst.BaseStatement]) -> None:
        super().__init__()
        self.replace = edits.replace
        self.wrap = edits.wrap
        self.before = edits.before
        self.after = edits.after
        self.callback_calls = edits.callback_calls
        self.tail = tail

    def on_leave(self, original_node, updated_node):  # type: ignore[no-untyped-def, override]
        if original_node in self.replace:
            new = self.replace[original_node]
            return new.with_changes(lpar=getattr(updated_node, "lpar", ()), rpar=getattr(updated_node, "rpar", ()))
        if original_node in self.wrap:
            return hooks.fallback_expression(updated_node, *self.wrap[original_node])
        if isinstance(original_node, cst.Call) and original_node in self.callback_calls:
            return _attach_callback(updated_node)
        if isinstance(original_node, (cst.Module, cst.IndentedBlock)):
            body: list[cst.CSTNode] = []
            for orig, upd in zip(original_node.body, updated_node.body):
                body.extend(self.before.get(orig, []))
                body.append(upd)
                body.extend(self.after.get(orig, []))
            if isinstance(original_node, cst.Module):
                body.extend(self.tail)
            return updated_node.with_changes(body=body)
        return updated_node


def _attach_callback(call: cst.Call) -> cst.Call:
    instance = cst.parse_expression(f"{hooks.CALLBACK}()")
    existing = keyword_arg(call, "callbacks")
    if existing is None:
        arg = cst.parse_expression(f"f(callbacks=[{hooks.CALLBACK}()])").args[0]  # type: ignore[attr-defined]
        return call.with_changes(args=append_item(call.args, arg, call.whitespace_before_args))
    assert isinstance(existing.value, cst.List)
    lst = existing.value
    elements = append_item(lst.elements, cst.Element(instance), lst.lbracket.whitespace_after)
    new_arg = existing.with_changes(value=lst.with_changes(elements=elements))
    return call.with_changes(args=[new_arg if a is existing else a for a in call.args])


def _import_order(code: str) -> tuple[int, str]:
    return (0 if code.startswith("import ") else 1, code)


def _is_import(stmt: cst.CSTNode) -> bool:
    return isinstance(stmt, cst.SimpleStatementLine) and all(
        isinstance(s, (cst.Import, cst.ImportFrom)) for s in stmt.body
    )


def _is_docstring(stmt: cst.CSTNode) -> bool:
    return (
        isinstance(stmt, cst.SimpleStatementLine)
        and len(stmt.body) == 1
        and isinstance(stmt.body[0], cst.Expr)
        and isinstance(stmt.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )


def imports_plainly(module: cst.Module, name: str) -> bool:
    """Is there a module-level `import name` (no alias) the added code can rely on?"""
    for stmt in module.body:
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            if isinstance(small, cst.Import):
                for alias in small.names:
                    if alias.asname is None and isinstance(alias.name, cst.Name) and alias.name.value == name:
                        return True
    return False
