"""A training script loaded for static analysis: its text, its libcst tree and the metadata.

Discovery and refactoring both need positions, parents and scopes of the same tree; loading
it in one place keeps the error messages for unreadable scripts (notebooks, syntax errors,
wrong encoding) identical wherever a script enters AFT.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping

import libcst as cst
from libcst.metadata import (
    CodeRange,
    MetadataWrapper,
    ParentNodeProvider,
    PositionProvider,
    ScopeProvider,
)

from aft_tui.errors import UserError
from aft_tui.target.source_text import check_syntax, read_source


@dataclass
class Script:
    """A parsed script plus the metadata every scanner asks for."""

    path: Path
    text: str
    module: cst.Module
    positions: Mapping[cst.CSTNode, CodeRange]
    parents: Mapping[cst.CSTNode, cst.CSTNode]
    _wrapper: MetadataWrapper = field(repr=False)
    _scopes: Mapping[cst.CSTNode, Any] | None = field(default=None, repr=False)
    _imports: dict[str, str] | None = field(default=None, repr=False)
    _nodes: list[cst.CSTNode] | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def scopes(self) -> Mapping[cst.CSTNode, Any]:
        # Scope analysis is the slowest metadata; only the refactor's merge mode needs it.
        if self._scopes is None:
            self._scopes = self._wrapper.resolve(ScopeProvider)
        return self._scopes

    def line(self, node: cst.CSTNode) -> int:
        return self.positions[node].start.line

    def pos(self, node: cst.CSTNode) -> tuple[int, int]:
        start = self.positions[node].start
        return (start.line, start.column)

    def loc(self, node: cst.CSTNode) -> str:
        return f"{self.name}:{self.line(node)}"

    def code(self, node: cst.CSTNode) -> str:
        return self.module.code_for_node(node)

    def parent(self, node: cst.CSTNode) -> cst.CSTNode | None:
        return self.parents.get(node)

    def ancestors(self, node: cst.CSTNode) -> Iterator[cst.CSTNode]:
        current = self.parents.get(node)
        while current is not None:
            yield current
            current = self.parents.get(current)

    def statement_of(self, node: cst.CSTNode) -> cst.CSTNode | None:
        """The innermost statement (simple line or compound) that holds `node`."""
        for anc in [node, *self.ancestors(node)]:
            if isinstance(anc, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
                return anc
        return None

    def top_level_index(self, node: cst.CSTNode) -> int | None:
        """Index in `module.body` of the module-level statement that contains `node`."""
        chain = [node, *self.ancestors(node)]
        for i, anc in enumerate(chain):
            if isinstance(anc, cst.Module) and i > 0:
                top = chain[i - 1]
                for idx, stmt in enumerate(self.module.body):
                    if stmt is top:
                        return idx
        return None

    def enclosing_function(self, node: cst.CSTNode) -> cst.FunctionDef | None:
        for anc in self.ancestors(node):
            if isinstance(anc, cst.FunctionDef):
                return anc
        return None

    def find(self, *types: type) -> list[Any]:
        """Every node of the given types, in source order."""
        if self._nodes is None:
            nodes: list[cst.CSTNode] = []

            class _All(cst.CSTVisitor):
                def on_visit(self, node: cst.CSTNode) -> bool:
                    nodes.append(node)
                    return True

            self.module.visit(_All())
            self._nodes = nodes
        return [n for n in self._nodes if isinstance(n, types)]

    @property
    def imports(self) -> dict[str, str]:
        """Local name -> fully qualified name for every import in the script."""
        if self._imports is None:
            self._imports = _import_map(self.module)
        return self._imports

    def qualified(self, dotted: str | None) -> str | None:
        """Expand the first component of a dotted name through the script's imports."""
        if not dotted:
            return dotted
        head, _, rest = dotted.partition(".")
        full = self.imports.get(head)
        if full is None:
            return dotted
        return f"{full}.{rest}" if rest else full

    def imports_module(self, prefix: str) -> bool:
        return any(v == prefix or v.startswith(prefix + ".") for v in self.imports.values())


def load_script(path: Path) -> Script:
    """Read and parse a script, turning every way it can be unreadable into one sentence."""
    path = Path(path)
    if path.suffix.lower() == ".ipynb":
        raise UserError(
            f"{path.name} is a notebook, which AFT does not support yet: convert it with "
            f"`jupyter nbconvert --to script {path.name}` and point AFT at the resulting .py file."
        )
    if not path.is_file():
        raise UserError(f"{path} does not exist or is not a file: point AFT at your training script.")
    # Decoded as Python decodes it (a PEP 263 coding line is honoured), line endings kept: untouched
    # lines stay byte-identical when the refactored text is written back (`source_text.write_source`).
    return parse_script(path, read_source(path))


def parse_script(path: Path, text: str) -> Script:
    module = parse_source(text, Path(path).name)
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    positions = wrapper.resolve(PositionProvider)
    parents = wrapper.resolve(ParentNodeProvider)
    return Script(
        path=Path(path),
        text=text,
        module=wrapper.module,
        positions=positions,
        parents=parents,
        _wrapper=wrapper,
    )


def parse_source(text: str, name: str) -> cst.Module:
    """Parse with Python's own compiler first: its messages are the ones users know."""
    check_syntax(text, name)
    fix = f"Fix the script so `python {name}` runs, then try again."
    try:
        return cst.parse_module(text)
    except cst.ParserSyntaxError as exc:
        raise UserError(f"{name}:{exc.raw_line}: invalid syntax ({exc.message}). {fix}") from None


def _import_map(module: cst.Module) -> dict[str, str]:
    mapping: dict[str, str] = {}

    class _Imports(cst.CSTVisitor):
        def visit_Import(self, node: cst.Import) -> None:
            for alias in node.names:
                full = _dotted_of(alias.name)
                if not full:
                    continue
                if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                    mapping[alias.asname.name.value] = full
                else:
                    head = full.split(".")[0]
                    mapping.setdefault(head, head)

        def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
            if node.module is None or isinstance(node.names, cst.ImportStar):
                return
            base = _dotted_of(node.module)
            if not base:
                return
            for alias in node.names:
                name = _dotted_of(alias.name)
                if not name:
                    continue
                local = name
                if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                    local = alias.asname.name.value
                mapping[local] = f"{base}.{name}"

    module.visit(_Imports())
    return mapping


def _dotted_of(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        left = _dotted_of(node.value)
        return f"{left}.{node.attr.value}" if left else None
    return None
