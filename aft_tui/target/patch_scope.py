"""Checking a model's diff before anything runs: which files it may touch, whether it applies
and compiles, whether it is small, and whether it brings in a new dependency.

A code experiment from a model is text nobody has read. Each refusal here is cheaper than a
trial that breaks, edits a file the person marked read-only, or needs a package the person
never installed; so the whole change is computed in a scratch folder (nothing in the project
is written) and refused with one sentence per problem that the model can act on.
"""

from __future__ import annotations

import ast
import os
import posixpath
import re
import sys
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path

from aft_tui.target.patches import FilePatch, ParsedPatch, PatchError, apply_patch, parse_patch

MAX_CHANGED_LINES = 300
_SKIPPED_FOLDERS = {"__pycache__", "node_modules", "site-packages", "outputs", "venv", "env"}
_SCANNED_FILES_LIMIT = 5000


@dataclass(frozen=True)
class PatchCheck:
    ok: bool
    problems: list[str]  # one sentence each, naming the file / module / size and what to do
    files: dict[str, str]  # relative path -> new full text (only when ok)
    changed_lines: int
    deleted: list[str] = field(default_factory=list)  # relative paths the diff removes (only when ok)


def check_patch(diff: str, project_root: Path, *, editable: Collection[str], read_only: Collection[str] = (),
                is_installed: Callable[[str], bool], max_changed_lines: int = MAX_CHANGED_LINES) -> PatchCheck:
    """The diff's result when it is safe to run, or every reason it is not (nothing is written)."""
    root = Path(project_root).resolve()
    try:
        parsed = parse_patch(diff)
    except PatchError as exc:
        return _refused([f"The diff does not parse ({exc}); send one unified diff with ---/+++ headers and @@ "
                         "hunks for the editable files."])
    scope = _Scope(root, editable, read_only)
    problems = [p for f in parsed.files for p in scope.problems(f)]
    if parsed.changed_lines > max_changed_lines:
        problems.append(f"The diff changes {parsed.changed_lines} lines, more than the limit of {max_changed_lines}; "
                        "send a smaller, focused change.")
    if problems:
        return _refused(problems, parsed.changed_lines)
    try:
        originals = _originals(root, parsed)
        results = apply_patch(parsed, originals)
    except PatchError as exc:
        return _refused([f"The diff does not apply to the current files ({exc}); send a diff made against the "
                         "files exactly as they are now."], parsed.changed_lines)
    problems = _compile_problems(results) or _dependency_problems(root, originals, results, is_installed)
    if problems:
        return _refused(problems, parsed.changed_lines)
    return PatchCheck(True, [], {p: t for p, t in results.items() if t is not None}, parsed.changed_lines,
                      [p for p, t in results.items() if t is None])


def _refused(problems: list[str], changed_lines: int = 0) -> PatchCheck:
    return PatchCheck(False, problems, {}, changed_lines)


def normalise(path: str) -> str:
    """A project-relative path written one way: forward slashes, no `./`, no trailing slash."""
    text = path.replace("\\", "/")
    while text.startswith("./"):
        text = text[2:]
    return posixpath.normpath(text) if text else text


class _Scope:
    """Which paths a diff may name: inside the project, editable, not read-only."""

    def __init__(self, root: Path, editable: Collection[str], read_only: Collection[str]) -> None:
        self.root = root
        self.editable = sorted({normalise(p) for p in editable})
        self.read_only = sorted({normalise(p) for p in read_only})

    def problems(self, change: FilePatch) -> list[str]:
        old, new = change.old, change.new
        found = []
        for raw in change.paths:
            outside = self._outside(raw)
            if outside:
                found.append(outside)
                continue
            path = normalise(raw)
            real = self._real(path)
            names = [path] if real in (None, path) else [path, real]
            if real is None:
                found.append(f"{path} is a symbolic link leading outside the project; leave it unchanged.")
            elif any(self._within(n, self.read_only) for n in names):
                found.append(f"{path} is read-only in these experiments; leave it unchanged and change only "
                             f"{self._listed()}.")
            elif not all(self._within(n, self.editable) for n in names):
                what = ("creates" if old is None else "deletes" if new is None else
                        "renames" if old != new else "changes")
                found.append(f"The diff {what} {path}, which is not among the editable files ({self._listed()}); "
                             "change only those.")
        return found

    def _outside(self, raw: str) -> str | None:
        text = raw.replace("\\", "/")
        if text.startswith("/") or re.match(r"^[A-Za-z]:", text):
            return (f"The diff names the absolute path {raw}; write paths relative to the project root "
                    f"(such as {self.editable[0] if self.editable else 'train.py'}).")
        if ".." in text.split("/"):
            return f"The diff names {raw}, which uses '..' to leave its folder; name only files inside the project."
        if not normalise(text) or normalise(text) == ".":
            return f"The diff names '{raw}', which is no file; name the files it changes."
        return None

    def _real(self, path: str) -> str | None:
        """Where `path` leads once symbolic links are followed (relative), None when outside the project."""
        resolved = (self.root / path).resolve()
        try:
            return resolved.relative_to(self.root).as_posix()
        except ValueError:
            return None

    def _within(self, path: str, entries: list[str]) -> bool:
        for entry in entries:
            if path == entry or (entry == "." or path.startswith(entry + "/")) and (self.root / entry).is_dir():
                return True
        return False

    def _listed(self) -> str:
        return ", ".join(self.editable) if self.editable else "none"


def _originals(root: Path, parsed: ParsedPatch) -> dict[str, str]:
    """The current text of each file the diff changes (a missing one is left for `git apply` to name)."""
    texts = {}
    for change in parsed.files:
        if change.old is None or not (root / normalise(change.old)).is_file():
            continue
        try:
            texts[normalise(change.old)] = (root / normalise(change.old)).read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            raise PatchError(f"{normalise(change.old)} is not UTF-8 text") from None
    return texts


def _compile_problems(results: dict[str, str | None]) -> list[str]:
    problems = []
    for path, text in results.items():
        if text is None or not path.endswith(".py"):
            continue
        try:
            compile(text, path, "exec", dont_inherit=True)
        except SyntaxError as exc:
            problems.append(f"{path} does not compile after the diff (line {exc.lineno}: {exc.msg}); send a diff "
                            "that leaves valid Python.")
        except ValueError as exc:  # null bytes
            problems.append(f"{path} does not compile after the diff ({exc}); send a diff that leaves valid Python.")
    return problems


def _dependency_problems(root: Path, originals: dict[str, str], results: dict[str, str | None],
                         is_installed: Callable[[str], bool]) -> list[str]:
    """A module the diff starts importing that the project does not have yet."""
    added: list[tuple[str, str]] = []
    for path, text in results.items():
        if text is None or not path.endswith(".py"):
            continue
        before = _imported(originals.get(path, ""))
        added += [(path, name) for name in sorted(_imported(text) - before)]
    added = [(p, n) for p, n in added if n not in sys.stdlib_module_names]
    if not added:
        return []
    created = {posixpath.basename(p).removesuffix(".py") for p in results if p.endswith(".py")}
    known = _project_modules(root) | created
    return [f"{path} now imports {name}, a new dependency (not in the standard library, not imported by the project "
            f"and not installed); use only what the project already has."
            for path, name in added if name not in known and not is_installed(name)]


def _imported(source: str) -> set[str]:
    """Top-level modules a source imports absolutely (relative imports are the project's own)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return set()
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _project_modules(root: Path) -> set[str]:
    """Every top-level module the project's Python files import, and the modules they are."""
    known: set[str] = set()
    seen = 0
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d not in _SKIPPED_FOLDERS
                   and not (Path(folder) / d / "pyvenv.cfg").exists()]
        python = [n for n in names if n.endswith(".py")]
        if python and Path(folder) != root:
            known.add(Path(folder).name)
        for name in python:
            known.add(name.removesuffix(".py"))
            seen += 1
            if seen > _SCANNED_FILES_LIMIT:
                return known
            try:
                known |= _imported((Path(folder) / name).read_bytes().decode("utf-8", errors="replace"))
            except OSError:
                continue
    return known
