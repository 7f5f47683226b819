"""What a recipe is and what applying one gives back.

A recipe is pure source -> source: it reads the script, recognises the pattern it improves and
returns the whole edited script, or None. The new tunable values it introduces are module
constants, so AFT's ordinary discovery and refactor find and expose them like any other knob.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class RecipeEdit:
    recipe: str  # catalogue id, e.g. "adamw"
    title: str  # one line for a person
    rationale: str  # why it is worth trying
    new_source: str  # the whole edited script
    knobs: dict[str, Any] = field(default_factory=dict)  # module constants introduced -> default
    needs_gpu: bool = False
    # Parameters (by what they control, tuning/advice.param_kind) the change means nothing without:
    # run it with this value where the script's own is 0 (AdamW with no weight decay is Adam).
    run_with: dict[str, float] = field(default_factory=dict)


class Recipe(Protocol):
    id: str
    title: str
    needs_gpu: bool

    def apply(self, source: str) -> RecipeEdit | None:
        """The edited script, or None when the pattern is absent or the edit is already there."""
        ...
