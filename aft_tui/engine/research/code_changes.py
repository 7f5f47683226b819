"""Code experiments, prepared before anything runs: a recipe from the offline catalogue or the
LLM's diff, turned into the new text of each file it changes, with its new knobs exposed.

A recipe edit writes its new settings as module constants (`LABEL_SMOOTHING = 0.1`); the
session's own refactor then lifts them into flags, so the optimizer can tune them like any other
parameter. An LLM diff is checked (files it may touch, size, new dependencies, that it applies
and compiles) before it is even shown: an out-of-scope edit is refused here, not after a run.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from aft_tui.target.source_text import decode_source


@dataclass
class CodeChange:
    source: str                       # "catalogue" | "llm"
    title: str
    rationale: str
    files: dict[str, str]             # path relative to the project -> new text
    diff: str
    recipe: str = ""
    knobs: list[str] = field(default_factory=list)   # parameters the change exposed as flags
    removed: list[str] = field(default_factory=list)  # files the change deletes (an LLM diff may)
    repairs: int = 0                  # a repair of a crashed change: which one (1 or 2)
    base: str = ""                    # digest of the files it was written against (approvals.py)
    run_with: dict[str, float] = field(default_factory=dict)  # RecipeEdit.run_with


def unified_diff(rel: str, old: str, new: str) -> str:
    return "".join(difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                        fromfile=f"a/{rel}", tofile=f"b/{rel}"))


def read_text(path: Path) -> str:
    return decode_source(path.read_bytes(), path.name)


def next_recipe(script: Path, rel_script: str, project_root: Path, *, gpu: bool, tried: Iterable[str],
                expose: Callable[[Path, str, dict[str, Any]], tuple[str, list[str]]],
                prefer: Iterable[str] = (), only: str | None = None) -> CodeChange | None:
    """The next catalogue recipe that applies to the script and has not been tried, or None.

    `expose(script, new_source, knobs)` lifts the recipe's new constants into flags and returns
    the final source and the parameter names it exposed (the session's refactor, handed in).
    `prefer`: the person's steering notes; a recipe they name ("try a cosine schedule") goes first."""
    from aft_tui.target.recipes.catalogue import applicable

    original = read_text(script)
    edits = [e for e in applicable(original, gpu=gpu, tried=list(tried)) if only is None or e.recipe == only]
    words = {w.strip(".,;:!?\"'").lower() for note in prefer for w in note.split()}
    edits.sort(key=lambda edit: not _named(edit, words))  # stable: the catalogue's order otherwise
    for edit in edits:
        final, exposed = expose(script, edit.new_source, dict(edit.knobs))
        try:
            compile(final, str(script), "exec")
        except SyntaxError:
            continue
        knobs = f" New knob(s) for the optimizer: {', '.join(exposed)}." if exposed else ""
        return CodeChange(source="catalogue", title=edit.title, rationale=edit.rationale + knobs,
                          files={rel_script: final}, diff=unified_diff(rel_script, original, final),
                          recipe=edit.recipe, knobs=exposed, run_with=dict(edit.run_with))
    return None


def _named(edit: Any, words: set[str]) -> bool:
    """Whether a steering note names this recipe (its id's parts or a word of its title)."""
    if not words:
        return False
    parts = set(edit.recipe.lower().replace("-", "_").split("_")) | {w.strip("()").lower() for w in edit.title.split()}
    return bool((parts - _COMMON) & words)


_COMMON = {"a", "an", "the", "with", "of", "to", "and", "for", "on", "in", "trainer", "->", "larger", "new"}
