"""Whether a setting discovery found is a knob (searched) or plumbing (reported, not tuned).

Every source asks the same question, but how much a name has to prove depends on where the
setting was found, so the answer takes that as `kind`:

- "literal": a bare value in code (a constant, a dict entry, a dataclass default). Its source
  already kept it only because it looked like a setting, so it is a knob unless its name says
  plumbing (seeds, devices, logging cadence, paths, worker counts).
- "flag": an argparse flag or a field handed to HfArgumentParser. Authors add flags for
  everything a run needs (paths, ids, switches), so a flag has to be named like a
  hyperparameter.
- "option": an option a person declared on purpose with tyro, click, typer or jsonargparse.
  Numbers are knobs unless named like plumbing; a switch has to name what it changes.
- "exposed": a configurator global, a config-tree key, an absl or fire setting. The author made
  everything overridable, knobs and plumbing alike, so numbers and switches are knobs unless the
  name (or the section of a dotted key) says plumbing; data settings mostly define the task,
  so under a data section only names that speak of the model's view of the data count.

Whatever the kind, a switch named `use_*`, `enable_*` or `disable_*` is not a knob: it picks
the kind of training (LoRA or full fine-tuning, CPU or GPU), which a search must not flip.
The person can still ask for one with `--params` or a `[search.<name>]` table.

The word lists live in `aft_tui.target.names`, next to the rest of the name vocabulary.
"""

from __future__ import annotations

from typing import Any, Literal

from aft_tui.target.names import (
    BOOL_KNOB_WORDS,
    CHOICE_WORDS,
    DATA_KNOB_WORDS,
    DATA_SECTIONS,
    EXPOSED_PLUMBING_WORDS,
    FLAG_CHOICE_PLUMBING_WORDS,
    HYPER_WORDS,
    OPTION_PLUMBING_NAMES,
    OPTION_PLUMBING_WORDS,
    PLUMBING_NAMES,
    PLUMBING_SECTIONS,
    PLUMBING_WORDS,
    STRING_WORDS,
    is_feature_switch,
    is_seed,
    looks_like_hyperparameter,
    looks_like_path_or_id,
    words,
)

Kind = Literal["literal", "flag", "option", "exposed"]

__all__ = ["Kind", "is_knob"]


def is_knob(name: str, ptype: str | None = None, default: Any = None, choices: list[Any] | None = None, *, kind: Kind) -> bool:
    """Whether the setting `name` (dotted for nested trees) should be searched over; `choices`
    the author listed make a setting a choice unless its name says plumbing."""
    parts = [p for p in name.split(".") if p]
    if not parts:
        return False
    # Only a config tree nests; elsewhere a dot is part of the name and its words all count.
    leaf, sections = (parts[-1], parts[:-1]) if kind == "exposed" else (name, [])
    if is_seed(leaf):
        return False
    if is_feature_switch(leaf, ptype, default):
        return False  # a switch chooses what kind of run it is; searched only when asked for
    if isinstance(default, str) and looks_like_path_or_id(default):
        return False
    leaf_words = set(words(leaf))
    if kind == "literal":
        return not ("_".join(words(leaf)) in PLUMBING_NAMES or leaf_words & PLUMBING_WORDS)
    if kind == "flag":
        return _flag_knob(leaf, leaf_words, ptype, choices)
    if kind == "option":
        return _option_knob(leaf, leaf_words, ptype, choices)
    return _exposed_knob(sections, leaf, leaf_words, ptype, default, choices)


def _flag_knob(leaf: str, leaf_words: set[str], ptype: str | None, choices: list[Any] | None) -> bool:
    if choices and not leaf_words & FLAG_CHOICE_PLUMBING_WORDS:
        return True
    if ptype == "str":
        return looks_like_hyperparameter(leaf) and bool(leaf_words & CHOICE_WORDS)
    return looks_like_hyperparameter(leaf)


def _option_knob(leaf: str, leaf_words: set[str], ptype: str | None, choices: list[Any] | None) -> bool:
    if leaf.lower() in OPTION_PLUMBING_NAMES or leaf_words & OPTION_PLUMBING_WORDS:
        return False
    if choices:
        return True
    if ptype == "bool":
        return bool(leaf_words & (HYPER_WORDS | BOOL_KNOB_WORDS))
    if ptype == "str":
        return bool(leaf_words & STRING_WORDS)
    return ptype in ("int", "float")


def _exposed_knob(sections: list[str], leaf: str, leaf_words: set[str], ptype: str | None, default: Any, choices: list[Any] | None) -> bool:
    if default is None:
        return False
    if any(set(words(s)) & PLUMBING_SECTIONS for s in sections):
        return False
    if leaf_words & EXPOSED_PLUMBING_WORDS:
        return False
    if any(set(words(s)) & DATA_SECTIONS for s in sections):
        if not (looks_like_hyperparameter(leaf) or leaf_words & DATA_KNOB_WORDS):
            return False
    if choices:
        return True
    if ptype == "str":
        return isinstance(default, str) and bool(leaf_words & CHOICE_WORDS)
    return ptype in ("int", "float", "bool")
