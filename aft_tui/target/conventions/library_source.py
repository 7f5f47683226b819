"""Dataclasses that live in an installed library, read from the library's own source.

`HfArgumentParser((ScriptArguments, SFTConfig))` exposes every field of trl's and transformers'
dataclasses, with the defaults of the version the person has installed. AFT reads them without
importing the library (importing transformers costs seconds and may need a GPU stack): the
package is located with `importlib.util.find_spec` on its top-level name, which does not execute
it, and the class is found by parsing the package's files, following re-exports (including the
lazy `_import_structure` tables) and base classes.
"""

from __future__ import annotations

import ast
import importlib.util
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from aft_tui.target.literals import ast_dotted_name

_SCALARS = {"int": "int", "float": "float", "str": "str", "bool": "bool"}
_MAX_DEPTH = 12


@dataclass(frozen=True)
class LibraryField:
    name: str
    type: str | None
    default: Any
    help: str | None
    required: bool
    owner: str  # the class that declares the field (a base class for inherited ones)


def library_dataclass_fields(qualified: str) -> list[LibraryField] | None:
    """Fields of `package.Class` (inherited first, overrides in place); None when not installed."""
    module, _, name = qualified.rpartition(".")
    if not module:
        return None
    return _fields(module, name)


@lru_cache(maxsize=None)
def _fields(module: str, name: str) -> list[LibraryField] | None:
    found = _find_class(module, name, 0)
    if found is None:
        return None
    where, cls = found
    fields: dict[str, LibraryField] = {}
    for base in cls.bases:
        base_name = ast_dotted_name(base)
        if not base_name:
            continue
        inherited = _fields(where, base_name.rsplit(".", 1)[-1])
        for f in inherited or []:
            fields[f.name] = f
    for stmt in cls.body:
        if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
            if ast_dotted_name(stmt.annotation.value if isinstance(stmt.annotation, ast.Subscript) else stmt.annotation) in ("ClassVar", "typing.ClassVar"):
                continue
            fields[stmt.target.id] = _field(stmt, cls.name)
    return list(fields.values())


def _field(stmt: ast.AnnAssign, owner: str) -> LibraryField:
    value = stmt.value
    help_text = None
    required = value is None
    if isinstance(value, ast.Call) and ast_dotted_name(value.func) in ("field", "dataclasses.field"):
        kw = {k.arg: k.value for k in value.keywords if k.arg}
        meta = kw.get("metadata")
        if isinstance(meta, ast.Dict):
            for key, val in zip(meta.keys, meta.values):
                if isinstance(key, ast.Constant) and key.value == "help" and isinstance(val, ast.Constant):
                    help_text = " ".join(str(val.value).split())
        required = "default" not in kw and "default_factory" not in kw
        value = kw.get("default")
    default = _constant(value)
    ptype = _annotation(stmt.annotation) or (_scalar_type(default) if default is not None else None)
    if ptype == "float" and isinstance(default, int) and not isinstance(default, bool):
        default = float(default)
    return LibraryField(stmt.target.id, ptype, default, help_text, required, owner)  # type: ignore[union-attr]


def _constant(node: ast.expr | None) -> Any:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str, bool)):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
        value = node.operand.value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return -value
    return None


def _scalar_type(value: Any) -> str | None:
    return {bool: "bool", int: "int", float: "float", str: "str"}.get(type(value))


def _annotation(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Name):
        return _SCALARS.get(node.id)
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        try:
            return _annotation(ast.parse(node.value, mode="eval").body)
        except SyntaxError:
            return None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _annotation(node.left) or _annotation(node.right)
    if isinstance(node, ast.Subscript) and (ast_dotted_name(node.value) or "").rsplit(".", 1)[-1] in ("Optional", "Union", "Annotated"):
        items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        for item in items:
            found = _annotation(item)
            if found:
                return found
    return None


def _find_class(module: str, name: str, depth: int) -> tuple[str, ast.ClassDef] | None:
    """(module that defines it, its definition), following the imports that re-export `name`."""
    if depth > _MAX_DEPTH:
        return None
    located = _module_file(module)
    if located is None:
        return None
    path, is_package = located
    tree = _parse(path)
    if tree is None:
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == name:
            return module, node
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if (alias.asname or alias.name) == name:
                    source = _absolute(package, node.level, node.module)
                    if source and source != module:
                        found = _find_class(source, alias.name, depth + 1)
                        if found:
                            return found
        elif isinstance(node, ast.Dict):  # transformers/trl lazy `_import_structure = {"sub": ["Name"]}`
            for key, val in zip(node.keys, node.values):
                if isinstance(key, ast.Constant) and isinstance(key.value, str) and isinstance(val, (ast.List, ast.Tuple)):
                    if any(isinstance(e, ast.Constant) and e.value == name for e in val.elts):
                        found = _find_class(f"{package}.{key.value}", name, depth + 1)
                        if found:
                            return found
    if depth == 0:
        return _scan_package(module.split(".")[0], name)
    return None


def _absolute(package: str, level: int, module: str | None) -> str | None:
    if level == 0:
        return module
    parts = package.split(".")
    if level - 1 > len(parts) - 1:
        return None
    base = parts[: len(parts) - (level - 1)]
    return ".".join(base + ([module] if module else []))


@lru_cache(maxsize=None)
def _scan_package(top: str, name: str) -> tuple[str, ast.ClassDef] | None:
    """Last resort: the package file that defines `class name`, shortest module path first."""
    root = package_root(top)
    if root is None:
        return None
    pattern = re.compile(rf"^class {re.escape(name)}\b", re.M)
    files = sorted(root.rglob("*.py"), key=lambda p: (len(p.relative_to(root).parts), str(p)))
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if pattern.search(text):
            rel = path.relative_to(root).with_suffix("")
            parts = [top, *rel.parts]
            if parts[-1] == "__init__":
                parts.pop()
            module = ".".join(parts)
            found = _find_class(module, name, _MAX_DEPTH)
            if found:
                return found
    return None


@lru_cache(maxsize=None)
def package_root(top: str) -> Path | None:
    """The installed package's folder, found without importing it."""
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _module_file(module: str) -> tuple[Path, bool] | None:
    top, _, rest = module.partition(".")
    root = package_root(top)
    if root is None:
        return None
    base = root.joinpath(*rest.split(".")) if rest else root
    if (base / "__init__.py").is_file():
        return base / "__init__.py", True
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py"), False
    return None


@lru_cache(maxsize=None)
def _parse(path: Path) -> ast.Module | None:
    try:
        return ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return None
