"""One recipe edit on a script's libcst tree: nodes replaced, statements put before or after
others, knob constants and helpers after the imports, and the result checked to compile.

Every line the recipe does not touch stays byte-identical, so the diff a person reviews is the
recipe and nothing else.
"""

from __future__ import annotations

import textwrap
from functools import lru_cache
from pathlib import Path
from typing import Any

import libcst as cst

from aft_tui.errors import UserError
from aft_tui.target.new_flags import free_name
from aft_tui.target.recipes.training import assigned_names
from aft_tui.target.script import Script, parse_script


@lru_cache(maxsize=4)
def parse(source: str) -> Script | None:
    """The script for analysis, or None when it does not parse (no recipe applies to it).

    Parsing with metadata is the slow part of a recipe, and every recipe of the catalogue reads
    the same source, so the last few parses are kept; recipes only read the tree."""
    try:
        return parse_script(Path("train.py"), source)
    except UserError:
        return None


class SourceEdit:
    """The edits one recipe makes, applied together by `render`."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.module = script.module
        self.replace: dict[cst.CSTNode, cst.CSTNode] = {}
        self.before: dict[cst.CSTNode, list[cst.BaseStatement]] = {}
        self.after: dict[cst.CSTNode, list[cst.BaseStatement]] = {}
        self.remove: set[cst.CSTNode] = set()
        self.knobs: dict[str, Any] = {}
        self._imports: list[str] = []
        self._constants: list[str] = []
        self._helpers: list[str] = []
        self._knob_names: dict[tuple[str, Any], str] = {}
        self._taken = {n.value for n in script.find(cst.Name)} | set(script.imports)

    # -- names -------------------------------------------------------------------------------

    def fresh(self, name: str) -> str:
        """`name`, or `name_2`, ... so it clashes with nothing the script (or this edit) binds."""
        chosen = free_name(name, self._taken)
        self._taken.add(chosen)
        return chosen

    def knob(self, name: str, value: Any, code: str | None = None) -> str:
        """A module constant `NAME = value` after the imports; returns the name it got. Asked
        again for the same name and value, the same constant serves every site."""
        if (name, value) in self._knob_names:
            return self._knob_names[name, value]
        chosen = self.fresh(name)
        self._knob_names[name, value] = chosen
        self._constants.append(f"{chosen} = {code if code is not None else repr(value)}")
        self.knobs[chosen] = value
        return chosen

    def constant(self, name: str, code: str) -> str:
        """A module constant that is not a knob (a fact of the machine, say); returns its name."""
        chosen = self.fresh(name)
        self._constants.append(f"{chosen} = {code}")
        return chosen

    def helper(self, code: str) -> None:
        """A module-level definition placed after the knob constants."""
        self._helpers.append(textwrap.dedent(code).strip("\n"))

    def spell(self, dotted: str) -> str | None:
        """`dotted` (e.g. `torch.nn.utils.clip_grad_norm_`) as this script can write it through
        its module-level imports; `import torch` is added only when torch is already imported
        some other way. None when the script does not use that package at all."""
        root = dotted.split(".")[0]
        imports = self._top_imports()
        if imports.get(root) == root:
            return dotted  # `import torch`: the full name reads best
        best: tuple[int, str] | None = None
        for local, full in imports.items():
            if dotted == full or dotted.startswith(full + "."):
                if best is None or len(full) > best[0]:
                    best = (len(full), local + dotted[len(full):])
        if best is not None:
            return best[1]
        if not self.script.imports_module(root) or root in _bound_names(self.module):
            return None
        line = f"import {root}"
        if line not in self._imports:
            self._imports.append(line)
        return dotted

    def import_plain(self, name: str) -> None:
        """`import name` (a standard-library module) unless the script already has it."""
        if self._top_imports().get(name) != name and f"import {name}" not in self._imports:
            self._imports.append(f"import {name}")

    def _top_imports(self) -> dict[str, str]:
        locals_: set[str] = set()
        for stmt in self.module.body:
            if isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    if isinstance(small, (cst.Import, cst.ImportFrom)) and not isinstance(small.names, cst.ImportStar):
                        for alias in small.names:
                            bound = alias.asname.name if alias.asname is not None else alias.name
                            while isinstance(bound, cst.Attribute):
                                bound = bound.value
                            if isinstance(bound, cst.Name):
                                locals_.add(bound.value)
        return {k: v for k, v in self.script.imports.items() if k in locals_}

    # -- statements --------------------------------------------------------------------------

    def statements(self, code: str) -> list[cst.BaseStatement]:
        """`code` (written with four-space indents) as statements in this script's own style."""
        text = textwrap.dedent(code).strip("\n") + "\n"
        indent = self.module.default_indent
        if indent != "    ":
            text = "\n".join(_reindent(line, indent) for line in text.split("\n"))
        return list(cst.parse_module(text, config=self.module.config_for_parsing).body)

    def expression(self, code: str) -> cst.BaseExpression:
        return cst.parse_expression(code, config=self.module.config_for_parsing)

    def insert_before(self, stmt: cst.CSTNode, code: str) -> None:
        self.before.setdefault(stmt, []).extend(self.statements(code))

    def insert_after(self, stmt: cst.CSTNode, code: str) -> None:
        self.after.setdefault(stmt, []).extend(self.statements(code))

    def wrap(self, stmts: list[cst.BaseStatement], header: str) -> None:
        """Put consecutive statements of one block under `header` (`with ...:`)."""
        first = stmts[0]
        shell = self.statements(f"{header}\n    pass")[0]
        body = [first.with_changes(leading_lines=[]), *stmts[1:]]
        block = shell.body.with_changes(body=body)  # type: ignore[attr-defined]
        self.replace[first] = shell.with_changes(body=block, leading_lines=first.leading_lines)  # type: ignore[attr-defined]
        self.remove.update(stmts[1:])

    # -- result ------------------------------------------------------------------------------

    def render(self) -> str | None:
        """The edited source, or None when it would not compile (the recipe then declines)."""
        body = list(self.module.body)
        index = _header_index(body)
        late = self._late_import(body, index)
        header = self._header(helpers=late is None)
        if late is not None:
            self.after.setdefault(body[late], []).extend(self._helper_statements())
        rewriter = _Rewriter(self)
        if header and index < len(body):
            self.before.setdefault(body[index], [])[:0] = header
            follows = body[index]
            if self._imports or self._helpers or not _is_constant(follows):
                spaced = bool(self._helpers) or isinstance(follows, (cst.FunctionDef, cst.ClassDef))
                rewriter.blank_before[follows] = 2 if spaced else 1
            # else: the new constants join the block of constants that follows the imports
        elif header and body:
            self.after.setdefault(body[-1], []).extend(header)
        new = self.module.visit(rewriter).code
        try:
            compile(new, "train.py", "exec")
        except (SyntaxError, ValueError):
            return None
        return new if new != self.script.text else None

    def _header(self, helpers: bool = True) -> list[cst.BaseStatement]:
        """Added imports, then the knob constants, then helper definitions."""
        out: list[cst.BaseStatement] = [self.statements(line)[0].with_changes(leading_lines=[]) for line in self._imports]
        for i, line in enumerate(self._constants):
            stmt = self.statements(line)[0]
            out.append(stmt.with_changes(leading_lines=[cst.EmptyLine()] if i == 0 else []))
        if helpers:
            out += self._helper_statements()
        if out and _header_index(list(self.module.body)) == 0:
            out[0] = out[0].with_changes(leading_lines=[])
        return out

    def _helper_statements(self) -> list[cst.BaseStatement]:
        out: list[cst.BaseStatement] = []
        for code in self._helpers:
            for j, stmt in enumerate(self.statements(code)):
                out.append(stmt.with_changes(leading_lines=[cst.EmptyLine(), cst.EmptyLine()]) if j == 0 else stmt)
        return out

    def _late_import(self, body: list[cst.BaseStatement], index: int) -> int | None:
        """Where helpers go when the script imports after other statements (a notebook exported
        as a script, `os.environ[...] = ...` before `import keras`): after the last import before
        the first statement the edit changes, since a helper may use what those imports bind."""
        if not self._helpers:
            return None
        touched = [self.script.top_level_index(n) for n in (*self.replace, *self.before, *self.after)]
        first = min((i for i in touched if i is not None), default=len(body))
        late = [i for i in range(index, first) if _is_import(body[i])]
        return late[-1] if late else None


def _bound_names(module: cst.Module) -> set[str]:
    """Names the script binds other than by importing: assignments, loops, defs, parameters."""
    bound = assigned_names(module)
    for node in _all(module, (cst.FunctionDef, cst.ClassDef, cst.Param)):
        bound.add(node.name.value)
    return bound


def _all(module: cst.Module, types: tuple[type, ...]) -> list[Any]:
    found: list[Any] = []

    class _Find(cst.CSTVisitor):
        def on_visit(self, node: cst.CSTNode) -> bool:
            if isinstance(node, types):
                found.append(node)
            return True

    module.visit(_Find())
    return found


def _reindent(line: str, indent: str) -> str:
    stripped = line.lstrip(" ")
    return indent * ((len(line) - len(stripped)) // 4) + stripped


def _header_index(body: list[cst.BaseStatement]) -> int:
    """After the docstring and the leading imports."""
    index = 0
    for i, stmt in enumerate(body):
        if _is_import(stmt) or (i == 0 and _is_docstring(stmt)):
            index = i + 1
        else:
            break
    return index


def _is_constant(stmt: cst.CSTNode) -> bool:
    """`NAME = value`: a module constant, which a new knob can stand beside."""
    if not (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and isinstance(stmt.body[0], cst.Assign)):
        return False
    targets = stmt.body[0].targets
    return len(targets) == 1 and isinstance(targets[0].target, cst.Name) and targets[0].target.value.isupper()


def _is_import(stmt: cst.CSTNode) -> bool:
    return isinstance(stmt, cst.SimpleStatementLine) and all(isinstance(s, (cst.Import, cst.ImportFrom)) for s in stmt.body)


def _is_docstring(stmt: cst.CSTNode) -> bool:
    return (
        isinstance(stmt, cst.SimpleStatementLine)
        and len(stmt.body) == 1
        and isinstance(stmt.body[0], cst.Expr)
        and isinstance(stmt.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )


class _Rewriter(cst.CSTTransformer):
    def __init__(self, edit: SourceEdit) -> None:
        super().__init__()
        self.edit = edit
        self.blank_before: dict[cst.CSTNode, int] = {}

    def on_leave(self, original_node, updated_node):  # type: ignore[no-untyped-def, override]
        if original_node in self.edit.replace:
            return self.edit.replace[original_node]
        if isinstance(original_node, (cst.Module, cst.IndentedBlock)):
            body: list[cst.CSTNode] = []
            for orig, upd in zip(original_node.body, updated_node.body):
                if orig in self.edit.remove:
                    continue
                added = list(self.edit.before.get(orig, []))
                if orig in self.blank_before:
                    upd = _spaced(upd, self.blank_before[orig])
                elif added:
                    # The blank lines that set the statement apart now set apart what comes before it.
                    lines = list(upd.leading_lines)
                    blanks = next((i for i, line in enumerate(lines) if line.comment is not None), len(lines))
                    added[0] = added[0].with_changes(leading_lines=lines[:blanks])
                    upd = upd.with_changes(leading_lines=lines[blanks:])
                body.extend(added)
                body.append(upd)
                body.extend(self.edit.after.get(orig, []))
            return updated_node.with_changes(body=body)
        return updated_node


def _spaced(stmt: cst.CSTNode, blank: int) -> cst.CSTNode:
    """`stmt` with at least `blank` empty lines above it."""
    lines = list(stmt.leading_lines)  # type: ignore[attr-defined]
    have = next((i for i, line in enumerate(lines) if line.comment is not None), len(lines))
    if have >= blank:
        return stmt
    return stmt.with_changes(leading_lines=[cst.EmptyLine()] * (blank - have) + lines)
