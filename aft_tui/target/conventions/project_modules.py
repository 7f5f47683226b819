"""Finding, without importing anything, where a name a script imports from its own project is
defined.

Config trees keep their defaults next to the classes they configure (`Trainer.get_default_config`
in `mingpt/trainer.py`), so reading a script's settings means following its imports into the
project. Only files a person's `PYTHONPATH=.` run would import are read: the script's folder and
its parents up to the repository root, the working directory and `PYTHONPATH`; installed
packages are someone else's code and never read.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import libcst as cst

from aft_tui.errors import UserError
from aft_tui.target.script import Script, parse_script
from aft_tui.target.source_text import read_source

_MAX_HOPS = 4


@dataclass(frozen=True)
class Definition:
    """A class or function and the parsed file it lives in."""

    script: Script
    node: cst.ClassDef | cst.FunctionDef


class ProjectModules:
    """The project-local modules reachable from one script, parsed once each."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.roots = search_roots(script.path)
        # The last folder of the script's own chain: the repository root when there is one.
        chain = [r for r in self.roots if script.path.resolve().is_relative_to(r)]
        self._repository_index = self.roots.index(chain[-1]) if chain else 0
        self._parsed: dict[Path, Script | None] = {script.path.resolve(): script}

    def lookup(self, name: str, where: Script | None = None) -> Definition | None:
        """The definition a (possibly dotted) name refers to in `where` (the script by default):
        `Trainer`, `GPT.get_default_config`'s class, `mingpt.trainer.Trainer`."""
        where = where or self.script
        head, _, rest = name.partition(".")
        return self._resolve(where, head, rest.split(".") if rest else [], _MAX_HOPS)

    def shown(self, path: Path) -> str:
        """A project file as a person names it: relative to the repository (or script) folder."""
        path = path.resolve()
        for root in (self.roots[self._repository_index], self.script.path.resolve().parent):
            if path.is_relative_to(root):
                return str(path.relative_to(root))
        return str(path)

    def _resolve(self, where: Script, head: str, rest: list[str], hops: int) -> Definition | None:
        if hops <= 0:
            return None
        node = _top_level(where.module, head)
        if node is not None:
            return _descend(where, node, rest)
        target = _imported(where, head)
        if target is None:
            return None
        dotted = [*target.split("."), *rest]
        # The longest prefix that names a module file; what follows is looked up inside it.
        for cut in range(len(dotted), 0, -1):
            module = self._module(".".join(dotted[:cut]))
            if module is None:
                continue
            tail = dotted[cut:]
            if not tail:
                return None
            return self._resolve(module, tail[0], tail[1:], hops - 1)
        return None

    def _module(self, dotted: str) -> Script | None:
        rel = Path(*dotted.split("."))
        for root in self.roots:
            for candidate in (root / rel.with_suffix(".py"), root / rel / "__init__.py"):
                if candidate.is_file():
                    return self._parse(candidate)
        return None

    def _parse(self, path: Path) -> Script | None:
        key = path.resolve()
        if key not in self._parsed:
            try:
                self._parsed[key] = parse_script(path, read_source(path))
            except (OSError, UserError):
                self._parsed[key] = None
        return self._parsed[key]


def search_roots(script_path: Path) -> list[Path]:
    """Folders a project-local import can come from, nearest first."""
    roots: list[Path] = []
    folder = script_path.resolve().parent
    for candidate in (folder, *folder.parents):
        roots.append(candidate)
        if (candidate / ".git").exists():
            break
    else:
        roots = roots[:4]  # no repository: the script's folder and a few above it
    for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep):
        if entry:
            roots.append(Path(entry).resolve())
    roots.append(Path.cwd())
    unique: list[Path] = []
    for root in roots:
        if root not in unique:
            unique.append(root)
    return unique


def _top_level(module: cst.Module, name: str) -> cst.ClassDef | cst.FunctionDef | None:
    for stmt in module.body:
        if isinstance(stmt, (cst.ClassDef, cst.FunctionDef)) and stmt.name.value == name:
            return stmt
    return None


def _descend(where: Script, node: cst.ClassDef | cst.FunctionDef, rest: list[str]) -> Definition | None:
    for part in rest:
        if not isinstance(node, cst.ClassDef) or not isinstance(node.body, cst.IndentedBlock):
            return None
        inner = next(
            (s for s in node.body.body if isinstance(s, (cst.ClassDef, cst.FunctionDef)) and s.name.value == part),
            None,
        )
        if inner is None:
            return None
        node = inner
    return Definition(where, node)


def _imported(where: Script, name: str) -> str | None:
    """The absolute dotted target of `name` in `where`'s imports, relative imports resolved."""
    for stmt in where.module.body:
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            if isinstance(small, cst.ImportFrom) and not isinstance(small.names, cst.ImportStar):
                base = _from_base(where, small)
                for alias in small.names:
                    local = _alias_name(alias)
                    if local == name and base is not None:
                        return f"{base}.{_dotted(alias.name)}" if base else _dotted(alias.name)
            elif isinstance(small, cst.Import):
                for alias in small.names:
                    if _alias_name(alias) == name:
                        return _dotted(alias.name) if alias.asname else name
    return None


def _from_base(where: Script, node: cst.ImportFrom) -> str | None:
    module = _dotted(node.module) if node.module is not None else ""
    dots = len(node.relative)
    if not dots:
        return module
    package = _package_of(where.path, dots)
    if package is None:
        return None
    return ".".join(p for p in (package, module) if p)


def _package_of(path: Path, dots: int) -> str | None:
    """`from .model import GPT` inside mingpt/__init__.py -> "mingpt" (folders with __init__.py)."""
    folder = path.resolve().parent
    for _ in range(dots - 1):
        folder = folder.parent
    parts: list[str] = []
    current = folder
    while (current / "__init__.py").is_file():
        parts.insert(0, current.name)
        current = current.parent
    return ".".join(parts) if parts else None


def _alias_name(alias: cst.ImportAlias) -> str:
    if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
        return alias.asname.name.value
    return _dotted(alias.name).split(".")[0]


def _dotted(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{_dotted(node.value)}.{node.attr.value}"
    return ""
