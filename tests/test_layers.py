"""AFT's layers, kept by a test: lower layers never import higher ones, and nothing imports
in a circle, between packages or between the modules of one package.

Every import statement counts, wherever it stands (inside a function, under
`TYPE_CHECKING`, relative or absolute): a lazy import is still a dependency, and a cycle
hidden in a function body is still a cycle. There is no list of exceptions; a new import
that breaks a rule is fixed where it is made (move the shared piece down, or have the
higher layer hand the lower one what it needs).

The order is written here once and in docs/architecture.md, which this test keeps equal.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = "aft_tui"

# Lowest first. A unit is a package of aft_tui (`runs`) or a module at its top (`errors`);
# `aft_tui` itself is the package's __init__. A unit may import units of its own layer or
# of lower ones, never of a higher one.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("aft_tui", "errors", "fsutil", "formatting", "redaction", "settings", "metric_names", "slash_commands"),
    ("target", "telemetry", "vcs"),
    ("runs",),
    ("tuning",),
    ("brain",),
    ("engine",),
    ("tracking",),
    ("ui",),
    ("api", "api_runner", "cli", "commands", "doctor", "__main__"),
)


@dataclass(frozen=True)
class Import:
    """One module importing another: where it is written and what it reaches."""

    importer: str  # dotted module name
    path: Path
    line: int
    imported: str  # dotted module name (a package's __init__ is the package's name)

    def where(self, root: Path) -> str:
        return f"{self.path.relative_to(root).as_posix()}:{self.line} imports {self.imported}"


def modules(package_dir: Path) -> dict[str, Path]:
    """Every module of the package by dotted name (`aft_tui.runs.launcher`, `aft_tui.ui`)."""
    found = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = list(path.relative_to(package_dir.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imports(package_dir: Path) -> list[Import]:
    """Every import of one of the package's own modules, from any of its modules."""
    known = modules(package_dir)
    prefix = package_dir.name
    found: dict[tuple[str, int, str], Import] = {}
    for name, path in known.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_package = path.name == "__init__.py"
        for node in ast.walk(tree):
            for target in _targets(node, name, is_package, known):
                if target == prefix or target.startswith(prefix + "."):
                    reached = _known_prefix(target, known)
                    found.setdefault((name, node.lineno, reached), Import(name, path, node.lineno, reached))
    return list(found.values())


def _targets(node: ast.AST, module: str, is_package: bool, known: dict[str, Path]) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    if node.level:
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[:len(base) - (node.level - 1)]
        source = ".".join(base + ([node.module] if node.module else []))
    else:
        source = node.module or ""
    # `from aft_tui.runs import launcher` reaches the module launcher; `from aft_tui.vcs
    # import Workspace` reaches the package's __init__.
    return [f"{source}.{alias.name}" if f"{source}.{alias.name}" in known else source for alias in node.names]


def _known_prefix(name: str, known: dict[str, Path]) -> str:
    """The module an import reaches: itself, or the longest known prefix of a name that is not one."""
    parts = name.split(".")
    while len(parts) > 1 and ".".join(parts) not in known:
        parts.pop()
    return ".".join(parts)


def unit(module: str) -> str:
    """`aft_tui.runs.launcher` -> `runs`; `aft_tui.errors` -> `errors`; `aft_tui` -> `aft_tui`."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def layer_of(name: str, layers: tuple[tuple[str, ...], ...] = LAYERS) -> int | None:
    return next((i for i, layer in enumerate(layers) if name in layer), None)


def upward_imports(found: list[Import], layers: tuple[tuple[str, ...], ...] = LAYERS) -> list[Import]:
    """Imports from a unit into a unit of a higher layer."""
    bad = []
    for imp in found:
        low, high = layer_of(unit(imp.importer), layers), layer_of(unit(imp.imported), layers)
        if low is not None and high is not None and high > low:
            bad.append(imp)
    return bad


def cycles(edges: dict[str, dict[str, Import]]) -> list[list[str]]:
    """Strongly connected groups of more than one node (Tarjan), each sorted, in sorted order."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    nodes = sorted(set(edges) | {b for targets in edges.values() for b in targets})

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, {})):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in nodes:
        if node not in index:
            visit(node)
    return sorted(groups)


def unit_edges(found: list[Import]) -> dict[str, dict[str, Import]]:
    """unit -> unit it imports -> the first such import (by file and line)."""
    edges: dict[str, dict[str, Import]] = {}
    for imp in sorted(found, key=lambda i: (str(i.path), i.line)):
        a, b = unit(imp.importer), unit(imp.imported)
        if a != b:
            edges.setdefault(a, {}).setdefault(b, imp)
    return edges


def module_edges(found: list[Import]) -> dict[str, dict[str, Import]]:
    """module -> module of the same package it imports -> the first such import."""
    edges: dict[str, dict[str, Import]] = {}
    for imp in sorted(found, key=lambda i: (str(i.path), i.line)):
        if imp.importer != imp.imported and unit(imp.importer) == unit(imp.imported):
            edges.setdefault(imp.importer, {}).setdefault(imp.imported, imp)
    return edges


def describe_cycle(group: list[str], edges: dict[str, dict[str, Import]], root: Path) -> str:
    members = set(group)
    lines = [f"  {imp.where(root)}" for a in group for b, imp in sorted(edges.get(a, {}).items()) if b in members]
    return f"{' <-> '.join(group)}:\n" + "\n".join(lines)


def render_order(layers: tuple[tuple[str, ...], ...] = LAYERS) -> str:
    """The order as docs/architecture.md writes it: `errors, fsutil < target, vcs < ...`."""
    return " < ".join(", ".join(name for name in layer if name != PACKAGE) for layer in layers)


# -- the rules, on AFT itself -------------------------------------------------------------

FOUND = imports(REPO / PACKAGE)


def test_every_package_and_top_level_module_has_a_layer():
    units = {unit(name) for name in modules(REPO / PACKAGE)}
    placed = {name for layer in LAYERS for name in layer}
    assert not units - placed, (f"{', '.join(sorted(units - placed))} has no layer: add it to LAYERS in "
                                f"tests/test_layers.py and to the order in docs/architecture.md")


def test_no_layer_imports_a_higher_one():
    bad = upward_imports(FOUND)
    assert not bad, ("A lower layer imports a higher one (order: " + render_order() + "):\n"
                     + "\n".join(f"  {imp.where(REPO)} ({unit(imp.importer)} is below {unit(imp.imported)})"
                                 for imp in bad))


def test_packages_do_not_import_each_other_in_a_circle():
    edges = unit_edges(FOUND)
    found = cycles(edges)
    assert not found, "Packages import each other in a circle:\n" + "\n".join(
        describe_cycle(group, edges, REPO) for group in found)


def test_modules_of_a_package_do_not_import_each_other_in_a_circle():
    edges = module_edges(FOUND)
    found = cycles(edges)
    assert not found, "Modules of one package import each other in a circle:\n" + "\n".join(
        describe_cycle(group, edges, REPO) for group in found)


def test_the_architecture_document_states_this_order():
    text = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
    assert render_order() in text, f"docs/architecture.md should state the layer order as: {render_order()}"


# -- the checker itself --------------------------------------------------------------------

def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root / PACKAGE


def test_the_checker_sees_lazy_relative_and_package_imports(tmp_path):
    package = _write(tmp_path, {
        "aft_tui/__init__.py": "",
        "aft_tui/errors.py": "def f():\n    from aft_tui import ui\n",
        "aft_tui/ui/__init__.py": "from aft_tui.ui.app import App\n",
        "aft_tui/ui/app.py": "from . import screens\nimport aft_tui.errors\n",
        "aft_tui/ui/screens.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .app import App\n",
        "aft_tui/ui/other.py": "from aft_tui.ui import App\nfrom aft_tui.ui.missing import thing\n",
    })
    found = {(imp.importer, imp.line, imp.imported) for imp in imports(package)}
    assert found == {
        ("aft_tui.errors", 2, "aft_tui.ui"),
        ("aft_tui.ui", 1, "aft_tui.ui.app"),
        ("aft_tui.ui.app", 1, "aft_tui.ui.screens"),
        ("aft_tui.ui.app", 2, "aft_tui.errors"),
        ("aft_tui.ui.screens", 3, "aft_tui.ui.app"),
        ("aft_tui.ui.other", 1, "aft_tui.ui"),
        ("aft_tui.ui.other", 2, "aft_tui.ui"),
    }
    imps = imports(package)
    layers = (("aft_tui", "errors"), ("ui",))
    assert [(i.importer, i.imported) for i in upward_imports(imps, layers)] == [("aft_tui.errors", "aft_tui.ui")]
    assert cycles(unit_edges(imps)) == [["errors", "ui"]]
    assert cycles(module_edges(imps)) == [["aft_tui.ui.app", "aft_tui.ui.screens"]]
    message = describe_cycle(["aft_tui.ui.app", "aft_tui.ui.screens"], module_edges(imps), tmp_path)
    assert "aft_tui/ui/app.py:1 imports aft_tui.ui.screens" in message
    assert "aft_tui/ui/screens.py:3 imports aft_tui.ui.app" in message


def test_no_module_is_over_400_lines():
    """A module past 400 lines holds more than one concept: split it by concept, not in halves."""
    long = {str(path.relative_to(REPO)): n for path in sorted((REPO / PACKAGE).rglob("*.py"))
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > 400}
    assert not long, long
